package dev.momstream.trainer.data;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** What the bytes of a document are: text, or bytes that are not valid UTF-8. */
public sealed interface Content {

    /** Valid UTF-8, without a leading byte-order mark. */
    record Text(String text) implements Content {
    }

    /**
     * Not valid UTF-8, kept as they are: re-encoding them would hide the problem, while a stream
     * consumer can dead-letter them with the reason.
     *
     * @param bytes     the document's bytes
     * @param invalidAt offset of the first byte that is not part of a valid UTF-8 sequence
     */
    record NotUtf8(byte[] bytes, int invalidAt) implements Content {
        public String reason() {
            return "not valid UTF-8 (first invalid byte at offset " + invalidAt + ")";
        }
    }

    /** Strictly decodes {@code bytes}: nothing is replaced. */
    static Content decode(byte[] bytes) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length); // UTF-8 never yields more chars than bytes
        CoderResult result = decoder.decode(in, out, true);
        if (result.isError()) {
            return new NotUtf8(bytes, in.position());
        }
        decoder.flush(out);
        out.flip();
        if (out.hasRemaining() && out.charAt(0) == '\uFEFF') {
            out.position(1);
        }
        return new Text(out.toString());
    }
}
