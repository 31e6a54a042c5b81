package dev.momstream.operators.pack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.operators.records.DocRef;
import dev.momstream.operators.records.Window;
import dev.momstream.trainer.data.Corpus;
import dev.momstream.trainer.data.CorpusEntry;
import dev.momstream.trainer.data.Gpt2Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PackerTest {

    private static final int T = 8;

    /** Documents of 1 to 30 tokens (some longer than a window), with their refs. */
    private static List<int[]> docs(int n, long seed) {
        Random r = new Random(seed);
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] d = new int[1 + r.nextInt(30)];
            for (int j = 0; j < d.length; j++) {
                d[j] = r.nextInt(1000);
            }
            out.add(d);
        }
        return out;
    }

    private static DocRef ref(int i) {
        return new DocRef("text.train", 0, i);
    }

    private static List<Window> pack(Packer packer, List<int[]> docs, int from, int to) {
        List<Window> out = new ArrayList<>();
        for (int i = from; i < to; i++) {
            packer.add(ref(i), docs.get(i), out::add);
        }
        return out;
    }

    @Test
    void windowsAreTheOfflineSlicesOfTheJoinedStream() {
        List<int[]> docs = docs(200, 1);
        List<Integer> stream = new ArrayList<>();
        Map<Integer, Integer> eotPosition = new HashMap<>();
        for (int i = 0; i < docs.size(); i++) {
            Arrays.stream(docs.get(i)).forEach(stream::add);
            eotPosition.put(i, stream.size());
            stream.add(Gpt2Tokenizer.END_OF_TEXT);
        }
        List<Window> windows = pack(new Packer(T + 1), docs, 0, docs.size());
        assertEquals((stream.size() - 1) / T, windows.size());
        Map<Long, Integer> attributedTo = new HashMap<>();
        for (int w = 0; w < windows.size(); w++) {
            int[] expected = stream.subList(w * T, w * T + T + 1).stream().mapToInt(Integer::intValue).toArray();
            assertArrayEquals(expected, windows.get(w).tokens(), "window " + w);
            for (DocRef d : windows.get(w).docs()) {
                assertEquals(null, attributedTo.put(d.offset(), w), "document " + d + " attributed twice");
            }
        }
        // Each document belongs to the window whose targets (positions 1..T) hold its end-of-text.
        attributedTo.forEach((doc, w) -> {
            int p = eotPosition.get(doc.intValue());
            assertEquals(true, p > w * T && p <= w * T + T, "document " + doc + " at " + p + " in window " + w);
        });
        int lastTarget = windows.size() * T;
        long expectedDocs = eotPosition.values().stream().filter(p -> p <= lastTarget).count();
        assertEquals(expectedDocs, attributedTo.size());
    }

    @Test
    void aRestoredCarryContinuesExactly() {
        List<int[]> docs = docs(60, 2);
        List<Window> straight = pack(new Packer(T + 1), docs, 0, docs.size());
        for (int cut = 0; cut <= docs.size(); cut += 7) {
            Packer before = new Packer(T + 1);
            List<Window> windows = new ArrayList<>(pack(before, docs, 0, cut));
            Packer after = Packer.restore(T + 1, List.of(before.carry()));
            windows.addAll(pack(after, docs, cut, docs.size()));
            assertEquals(render(straight), render(windows), "cut after " + cut + " documents");
        }
    }

    @Test
    void carriesOfARescaleAreJoinedWithoutTrainingATokenTwice() {
        Packer a = new Packer(T + 1);
        Packer b = new Packer(T + 1);
        a.add(ref(0), new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, w -> { });   // carry: 9 10 EOT
        b.add(ref(1), new int[] {11, 12, 13, 14, 15, 16, 17, 18, 19}, w -> { }); // carry: 19 EOT
        Packer joined = Packer.restore(T + 1, List.of(a.carry(), b.carry()));
        List<Window> out = new ArrayList<>();
        joined.add(ref(2), new int[] {21, 22, 23, 24, 25}, out::add);
        int eot = Gpt2Tokenizer.END_OF_TEXT;
        assertEquals(1, out.size());
        // b's first token (19) was a target of b's last window already: it is dropped.
        assertArrayEquals(new int[] {9, 10, eot, eot, 21, 22, 23, 24, 25}, out.get(0).tokens());
        assertEquals(List.of(ref(0), ref(1)), List.of(out.get(0).docs()));
    }

    /**
     * A document as large as a record may be (1 MiB of text, about 200k tokens) between two small
     * ones (the second long enough to complete the window that holds the large one's end): its windows are handed on one by one as they fill, each the offline slice of the
     * stream, the document is named once, in the window that holds its end-of-text, and the
     * packer keeps no more of it than the start of the next window.
     */
    @Test
    void aMebibyteDocumentIsHandedOnWindowByWindowAndNotKept() {
        int t = 32;
        String prose = String.join(" ", bundledTexts());
        int[] big = Gpt2Tokenizer.encode(prose.repeat((1 << 20) / prose.length() + 1).substring(0, 1 << 20));
        List<int[]> docs = List.of(new int[] {1, 2, 3}, big, new Random(4).ints(t + 1, 0, 1000).toArray());
        List<Integer> stream = new ArrayList<>();
        for (int[] d : docs) {
            Arrays.stream(d).forEach(stream::add);
            stream.add(Gpt2Tokenizer.END_OF_TEXT);
        }
        Packer packer = new Packer(t + 1);
        List<Window> windows = new ArrayList<>();
        List<Integer> carriedAfter = new ArrayList<>();
        for (int i = 0; i < docs.size(); i++) {
            packer.add(ref(i), docs.get(i), windows::add);
            carriedAfter.add(packer.carry().tokens().length);
        }
        assertEquals((stream.size() - 1) / t, windows.size());
        for (int w = 0; w < windows.size(); w++) {
            int[] expected = stream.subList(w * t, w * t + t + 1).stream().mapToInt(Integer::intValue).toArray();
            assertArrayEquals(expected, windows.get(w).tokens(), "window " + w);
        }
        int bigEot = 3 + 1 + big.length;
        List<Integer> namingBig = new ArrayList<>();
        for (int w = 0; w < windows.size(); w++) {
            if (Arrays.asList(windows.get(w).docs()).contains(ref(1))) {
                namingBig.add(w);
            }
        }
        assertEquals(List.of((bigEot - 1) / t), namingBig, "the windows naming the large document");
        assertTrue(carriedAfter.stream().allMatch(n -> n <= t), "tokens kept after each document: " + carriedAfter);
        assertTrue(big.length > 150_000, "tokens of the large document: " + big.length);
    }

    private static List<String> bundledTexts() {
        return Corpus.bundled().entries().stream()
                .map(e -> ((CorpusEntry.InMemory) e).text()).toList();
    }

    private static List<String> render(List<Window> windows) {
        return windows.stream().map(w -> Arrays.toString(w.tokens()) + Arrays.toString(w.docs())).toList();
    }
}
