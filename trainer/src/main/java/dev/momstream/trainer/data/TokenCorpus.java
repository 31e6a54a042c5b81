package dev.momstream.trainer.data;

import java.util.Arrays;
import java.util.List;

/**
 * A corpus as two GPT-2 token streams, documents separated by end-of-text: the corpus's
 * document split, or for fewer than ten documents the last tenth of the token stream held out.
 */
public final class TokenCorpus {
    private final int[] train;
    private final int[] validation;

    private TokenCorpus(int[] train, int[] validation) {
        this.train = train;
        this.validation = validation;
    }

    public static TokenCorpus of(Corpus corpus) {
        if (corpus.splitsByDocument()) {
            return new TokenCorpus(encode(corpus.trainDocuments()), encode(corpus.validationDocuments()));
        }
        int[] all = encode(corpus.documents());
        int cut = all.length - all.length / Corpus.HOLD_OUT_EVERY;
        return new TokenCorpus(Arrays.copyOfRange(all, 0, cut), Arrays.copyOfRange(all, cut, all.length));
    }

    private static int[] encode(List<Document> docs) {
        return join(docs.parallelStream().map(d -> Gpt2Tokenizer.encode(d.text())).toList());
    }

    /** Documents' tokens, each followed by end-of-text. */
    static int[] join(List<int[]> docs) {
        int n = 0;
        for (int[] d : docs) {
            n += d.length + 1;
        }
        int[] out = new int[n];
        int at = 0;
        for (int[] d : docs) {
            System.arraycopy(d, 0, out, at, d.length);
            at += d.length;
            out[at++] = Gpt2Tokenizer.END_OF_TEXT;
        }
        return out;
    }

    public int[] train() {
        return train;
    }

    public int[] validation() {
        return validation;
    }

    /**
     * Entropy (nats) of the unigram distribution of the training tokens: the loss of the best
     * model that ignores context, a floor any learning model must go below.
     */
    public double unigramEntropy() {
        int[] counts = new int[Gpt2Tokenizer.VOCAB_SIZE];
        for (int t : train) {
            counts[t]++;
        }
        double h = 0;
        for (int c : counts) {
            if (c > 0) {
                double p = (double) c / train.length;
                h -= p * Math.log(p);
            }
        }
        return h;
    }
}
