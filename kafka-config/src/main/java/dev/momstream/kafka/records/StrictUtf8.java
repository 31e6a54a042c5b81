package dev.momstream.kafka.records;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * UTF-8 decoding that refuses invalid input instead of inserting replacement characters, which
 * would otherwise reach the tokenizer as if they were text.
 *
 * @param text      the decoded text; null when the bytes are not valid UTF-8
 * @param invalidAt offset of the first invalid byte; -1 when valid
 */
record StrictUtf8(String text, int invalidAt) {

    static StrictUtf8 decode(byte[] bytes) {
        // A CharsetDecoder holds state: one per call keeps this safe to share across threads.
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        // UTF-8 never yields more chars than bytes.
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult result = decoder.decode(in, out, true);
        if (result.isError()) {
            return new StrictUtf8(null, in.position());
        }
        decoder.flush(out);
        return new StrictUtf8(out.flip().toString(), -1);
    }

    boolean valid() {
        return text != null;
    }
}
