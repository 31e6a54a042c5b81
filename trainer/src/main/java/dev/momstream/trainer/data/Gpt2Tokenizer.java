package dev.momstream.trainer.data;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;

/**
 * GPT-2's byte-level BPE (the r50k_base vocabulary, 50257 tokens) from JTokkit, whose
 * vocabulary ships inside its jar: nothing is downloaded. Thread-safe.
 */
public final class Gpt2Tokenizer {
    /** {@code <|endoftext|>}: separates documents in the token stream. */
    public static final int END_OF_TEXT = 50256;
    public static final int VOCAB_SIZE = 50257;

    private static final Encoding ENCODING =
            Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.R50K_BASE);

    private Gpt2Tokenizer() {}

    /** Tokens of {@code text}; special-token strings in the text are encoded as plain text. */
    public static int[] encode(String text) {
        return ENCODING.encodeOrdinary(text).toArray();
    }

    public static String decode(int[] tokens) {
        IntArrayList list = new IntArrayList(tokens.length);
        for (int t : tokens) {
            list.add(t);
        }
        return ENCODING.decode(list);
    }
}
