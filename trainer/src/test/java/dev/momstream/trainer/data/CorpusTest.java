package dev.momstream.trainer.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A corpus listing and its reading survive every bad entry, and say which and why. */
class CorpusTest {

    private static final String GOOD = "A plain sentence of good text. ".repeat(40);

    @Test
    void bytesThatAreNotUtf8StayAsTheyAreWithTheOffendingOffset() {
        byte[] latin1 = "na\u00efve".getBytes(StandardCharsets.ISO_8859_1);
        Content.NotUtf8 bad = assertInstanceOf(Content.NotUtf8.class, Content.decode(latin1));
        assertArrayEquals(latin1, bad.bytes(), "nothing is replaced or re-encoded");
        assertEquals(2, bad.invalidAt());
        assertTrue(bad.reason().contains("not valid UTF-8") && bad.reason().contains("offset 2"), bad.reason());

        byte[] withBom = "\uFEFFtext\u0000".getBytes(StandardCharsets.UTF_8);
        assertEquals(new Content.Text("text\u0000"), Content.decode(withBom),
                "valid UTF-8 is text, NUL included (the stream's decoder judges binary); the BOM goes");
        assertEquals(new Content.Text(""), Content.decode(new byte[0]));
    }

    @Test
    void aDirectoryGivenThroughALinkIsWalkedAndEntriesThatCannotBeFollowedAreSkipped(@TempDir Path dir)
            throws Exception {
        Path real = Files.createDirectories(dir.resolve("real"));
        Path other = Files.createDirectories(dir.resolve("other"));
        Files.writeString(real.resolve("a.txt"), GOOD);
        Files.writeString(other.resolve("b.md"), GOOD);
        Files.createSymbolicLink(real.resolve("elsewhere"), other);
        Files.createSymbolicLink(real.resolve("again"), other);
        Files.createSymbolicLink(real.resolve("up"), Path.of("."));
        Files.createSymbolicLink(real.resolve("dangling.txt"), Path.of("missing.txt"));
        Files.createSymbolicLink(real.resolve("dangling.png"), Path.of("missing.png"));
        Files.createSymbolicLink(real.resolve("ring.txt"), Path.of("ring.txt"));
        assertEquals(0, new ProcessBuilder("mkfifo", real.resolve("fifo.md").toString()).start().waitFor());
        Path link = Files.createSymbolicLink(dir.resolve("link"), real);

        Corpus corpus = Corpus.fromPath(link);

        assertEquals("link", corpus.name());
        assertEquals(List.of("a.txt", "again/b.md"), corpus.entries().stream().map(CorpusEntry::id).toList(),
                "b.md, reached through two links, is one document");
        // a link to a non-text name (dangling.png) is ignored, not reported
        assertReasons(Map.of(
                link.resolve("dangling.txt"), "symbolic link that cannot be followed: No such file or directory",
                link.resolve("ring.txt"), "symbolic link that cannot be followed: Too many levels of symbolic links",
                link.resolve("fifo.md"), "not a regular file (a FIFO, socket or device); not opened",
                link.resolve("up"), "symbolic link loop back to an enclosing directory"), corpus.skipped());
    }

    @Test
    void tokensLeaveOutWhatCannotBeReadAndFailOnlyWhenNothingCan(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("a.txt"), GOOD);
        Files.write(dir.resolve("b.txt"), "caf\u00e9".getBytes(StandardCharsets.ISO_8859_1));
        // Reading /proc/self/mem at offset 0 fails with EIO, as a failing disk does, also for root.
        Files.createSymbolicLink(dir.resolve("c.txt"), Path.of("/proc/self/mem"));

        TokenCorpus tokens = TokenCorpus.of(Corpus.fromPath(dir));

        int[] good = Gpt2Tokenizer.encode(GOOD);
        assertEquals(good.length + 1, tokens.train().length + tokens.validation().length,
                "only a.txt and its end-of-text");
        assertReasons(Map.of(
                dir.resolve("b.txt"), "not valid UTF-8 (first invalid byte at offset 3)",
                dir.resolve("c.txt"), "Input/output error"), tokens.skipped());

        Files.delete(dir.resolve("a.txt"));
        Corpus bad = Corpus.fromPath(dir);
        IOException none = assertThrows(IOException.class, () -> TokenCorpus.of(bad));
        assertTrue(none.getMessage().contains("nothing in corpus") && none.getMessage().contains("c.txt: Input/output error"),
                none.getMessage());

        IOException missing = assertThrows(IOException.class, () -> Corpus.fromPath(dir.resolve("nope")));
        assertEquals("corpus " + dir.resolve("nope") + ": No such file or directory", missing.getMessage());
    }

    /** {@code skipped} is exactly the expected paths, each reason starting as expected. */
    private static void assertReasons(Map<Path, String> expected, List<SkippedFile> skipped) {
        Map<String, String> actual = skipped.stream().collect(Collectors.toMap(SkippedFile::path,
                SkippedFile::reason, (a, b) -> a + " AND " + b, TreeMap::new));
        assertEquals(new TreeMap<>(expected).keySet().stream().map(Path::toString).toList(),
                List.copyOf(actual.keySet()), actual.toString());
        expected.forEach((path, reason) -> assertTrue(actual.get(path.toString()).startsWith(reason),
                path + ": " + actual.get(path.toString())));
    }
}
