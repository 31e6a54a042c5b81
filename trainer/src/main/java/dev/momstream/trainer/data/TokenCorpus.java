package dev.momstream.trainer.data;

import dev.momstream.trainer.io.FileErrors;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * A corpus as two GPT-2 token streams, documents separated by end-of-text: the corpus's
 * document split, or for fewer than ten documents the last tenth of the token stream held out.
 * Documents that cannot be read or are not valid UTF-8 are left out and listed in
 * {@link #skipped()}; the split stays the one the listing decided, so it does not shift.
 */
public final class TokenCorpus {
    private final int[] train;
    private final int[] validation;
    private final List<SkippedFile> skipped;

    private TokenCorpus(int[] train, int[] validation, List<SkippedFile> skipped) {
        this.train = train;
        this.validation = validation;
        this.skipped = skipped;
    }

    /** A corpus already tokenized (e.g. read back from a cache), with nothing skipped. */
    public static TokenCorpus ofTokens(int[] train, int[] validation) {
        return new TokenCorpus(train.clone(), validation.clone(), List.of());
    }

    /** Reads and tokenizes {@code corpus}; throws only when not one of its documents is usable. */
    public static TokenCorpus of(Corpus corpus) throws IOException {
        List<SkippedFile> skipped = new ArrayList<>(corpus.skipped());
        TokenCorpus out;
        if (corpus.splitsByDocument()) {
            out = new TokenCorpus(encode(corpus.trainEntries(), skipped), encode(corpus.validationEntries(), skipped),
                    skipped);
        } else {
            int[] all = encode(corpus.entries(), skipped);
            int cut = all.length - all.length / Corpus.HOLD_OUT_EVERY;
            out = new TokenCorpus(Arrays.copyOfRange(all, 0, cut), Arrays.copyOfRange(all, cut, all.length), skipped);
        }
        skipped.sort(Comparator.comparing(SkippedFile::path));
        if (out.train.length + out.validation.length == 0) {
            throw corpus.nothingReadable(skipped);
        }
        return out;
    }

    /** Tokens of the usable {@code entries}, read in parallel; the others are added to {@code skipped}. */
    private static int[] encode(List<CorpusEntry> entries, List<SkippedFile> skipped) {
        List<Tokenized> results = entries.parallelStream().map(TokenCorpus::tokenize).toList();
        List<int[]> docs = new ArrayList<>();
        for (Tokenized r : results) {
            if (r.skipped() == null) {
                docs.add(r.tokens());
            } else {
                skipped.add(r.skipped());
            }
        }
        return join(docs);
    }

    /** A document's tokens, or (tokens null) why it was skipped. */
    private record Tokenized(int[] tokens, SkippedFile skipped) {
    }

    private static Tokenized tokenize(CorpusEntry entry) {
        try {
            Content content = entry.read();
            if (content instanceof Content.Text text) {
                return new Tokenized(Gpt2Tokenizer.encode(text.text()), null);
            }
            return new Tokenized(null, new SkippedFile(entry.where(), ((Content.NotUtf8) content).reason()));
        } catch (IOException e) {
            return new Tokenized(null, new SkippedFile(entry.where(), FileErrors.reason(e)));
        }
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

    /** Entries left out, by path, with the reason: the listing's and those that failed to read. */
    public List<SkippedFile> skipped() {
        return List.copyOf(skipped);
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
