package dev.momstream.trainer.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizerAndCorpusTest {

    @Test
    void gpt2BpeGivesTheKnownIds() {
        // ids as produced by OpenAI's GPT-2 tokenizer
        assertArrayEquals(new int[] {15496, 995}, Gpt2Tokenizer.encode("Hello world"));
        assertArrayEquals(new int[] {464, 2068, 7586, 21831, 13}, Gpt2Tokenizer.encode("The quick brown fox."));
        String text = "State of the Union, 1790 \u2014 caf\u00e9 \ud83d\ude00";
        assertEquals(text, Gpt2Tokenizer.decode(Gpt2Tokenizer.encode(text)));
        // a special-token string in user text stays text
        int[] ids = Gpt2Tokenizer.encode("<|endoftext|>");
        assertTrue(ids.length > 1);
        for (int id : ids) {
            assertNotEquals(Gpt2Tokenizer.END_OF_TEXT, id);
        }
    }

    @Test
    void bundledCorpusSplitsDeterministicallyByDocument() throws Exception {
        Corpus corpus = Corpus.bundled();
        assertEquals(233, corpus.entries().size());
        TokenCorpus tokens = TokenCorpus.of(corpus);
        int eotTrain = count(tokens.train(), Gpt2Tokenizer.END_OF_TEXT);
        int eotVal = count(tokens.validation(), Gpt2Tokenizer.END_OF_TEXT);
        assertEquals(210, eotTrain);
        assertEquals(23, eotVal);
        assertTrue(tokens.train().length > 1_500_000, "train tokens: " + tokens.train().length);
        assertEquals(Gpt2Tokenizer.END_OF_TEXT, tokens.train()[tokens.train().length - 1]);
        double h = tokens.unigramEntropy();
        assertTrue(h > 6 && h < 8, "unigram entropy " + h);
    }

    @Test
    void userCorpusDirectoryAndSmallFileSplit(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("a.txt"), "First document. ".repeat(50));
        Files.createDirectories(dir.resolve("sub"));
        Files.writeString(dir.resolve("sub/b.md"), "Second document. ".repeat(50));
        Files.write(dir.resolve("image.png"), new byte[] {1, 2, 3});
        Corpus corpus = Corpus.fromPath(dir);
        assertEquals(2, corpus.entries().size());
        TokenCorpus t = TokenCorpus.of(corpus);
        int total = t.train().length + t.validation().length;
        assertEquals(total / 10, t.validation().length);
    }

    @Test
    void samplerVisitsEveryWindowOncePerEpochAndResumesFromItsCursor() {
        int[] tokens = new int[1001];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = i;
        }
        WindowSampler s = new WindowSampler(tokens, 11, 5);
        assertEquals(100, s.windows());
        Set<Integer> starts = new HashSet<>();
        for (int i = 0; i < 25; i++) {
            for (int[] w : s.next(4)) {
                assertEquals(w[0] + 10, w[10]);
                starts.add(w[0]);
            }
        }
        assertEquals(100, starts.size());
        WindowSampler.Cursor cursor = s.cursor();
        int[][] expected = s.next(7);
        WindowSampler other = new WindowSampler(tokens, 11, 5);
        other.seek(cursor);
        assertArrayEquals(expected, other.next(7));
    }

    private static int count(int[] a, int v) {
        int n = 0;
        for (int x : a) {
            if (x == v) {
                n++;
            }
        }
        return n;
    }
}
