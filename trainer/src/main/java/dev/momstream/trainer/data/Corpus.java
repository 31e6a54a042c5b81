package dev.momstream.trainer.data;

import com.fasterxml.jackson.databind.JsonNode;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.io.FileErrors;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitOption;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/**
 * An ordered list of documents (sorted by id) with a deterministic validation split: with ten
 * or more documents every tenth one (positions 9, 19, ...) is held out. A corpus from disk is a
 * listing: each file is read when a consumer gets to it ({@link CorpusEntry#read}), so that a
 * corpus larger than memory streams, and a file that turns out unreadable costs only itself.
 *
 * <p>Listing a directory follows symbolic links (a corpus given through a link, or linking to
 * texts elsewhere, is walked) and never fails on one entry: a dangling or looping link, a FIFO
 * or device named like a text file, a directory that cannot be listed or a link back to an
 * enclosing directory is {@linkplain #skipped() skipped} with the reason, and nothing is opened
 * that could block. A file reached by several paths (through links) is one document, under the
 * first of its ids.
 */
public final class Corpus {
    static final int HOLD_OUT_EVERY = 10;
    /** The bundled sample: US State of the Union addresses 1790-2018, public domain. */
    static final String BUNDLED = "/dev/momstream/trainer/data/sotu.jsonl.gz";
    /** Larger files are skipped: a document is read whole, and this is already more than most heaps hold twice. */
    public static final long MAX_FILE_BYTES = 1L << 30;

    private final String name;
    private final List<CorpusEntry> entries;
    private final List<SkippedFile> skipped;

    private Corpus(String name, List<CorpusEntry> entries, List<SkippedFile> skipped) {
        this.name = name;
        this.entries = entries.stream().sorted(Comparator.comparing(CorpusEntry::id)).toList();
        this.skipped = skipped.stream().sorted(Comparator.comparing(SkippedFile::path)).toList();
    }

    /** State of the Union addresses (233 documents, 10.8 M characters), from the jar. */
    public static Corpus bundled() {
        List<CorpusEntry> docs = new ArrayList<>();
        try (InputStream raw = Corpus.class.getResourceAsStream(BUNDLED)) {
            if (raw == null) {
                throw new IllegalStateException("bundled corpus " + BUNDLED + " is missing from the jar");
            }
            BufferedReader r = new BufferedReader(new InputStreamReader(new GZIPInputStream(raw),
                    StandardCharsets.UTF_8));
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                JsonNode n = Json.MAPPER.readTree(line);
                docs.add(new CorpusEntry.InMemory(n.get("id").asText(), n.get("text").asText()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the bundled corpus", e);
        }
        return new Corpus("sotu", docs, List.of());
    }

    /**
     * The user's text: a file (one document) or a directory (every file below it whose name ends
     * in .txt, .md or .text is a document, named by its relative path). Throws only when
     * {@code path} itself cannot be used or the listing finds no document at all.
     */
    public static Corpus fromPath(Path path) throws IOException {
        BasicFileAttributes attrs;
        try {
            attrs = Files.readAttributes(path, BasicFileAttributes.class);
        } catch (IOException e) {
            throw new IOException("corpus " + path + ": " + FileErrors.reason(e), e);
        }
        String name = path.getFileName() == null ? path.toString() : path.getFileName().toString();
        if (attrs.isRegularFile() && attrs.size() > MAX_FILE_BYTES) {
            throw new IOException("corpus " + path + " has " + attrs.size() + " bytes, over the " + MAX_FILE_BYTES
                    + "-byte limit of one document; split the file");
        }
        if (attrs.isRegularFile()) {
            return new Corpus(name, List.of(new CorpusEntry.OnDisk(name, path)), List.of());
        }
        if (!attrs.isDirectory()) {
            throw new IOException("corpus " + path + " is neither a file nor a directory");
        }
        Listing listing = new Listing(path);
        Files.walkFileTree(path, EnumSet.of(FileVisitOption.FOLLOW_LINKS), Integer.MAX_VALUE, listing);
        List<CorpusEntry> entries = listing.entries();
        if (entries.isEmpty()) {
            throw new IOException("corpus directory " + path + " has no readable .txt, .md or .text files"
                    + (listing.skipped.isEmpty() ? "" : "; skipped " + listing.skipped));
        }
        return new Corpus(name, entries, listing.skipped);
    }

    /** Collects documents and skipped entries; continues past every failure. */
    private static final class Listing extends SimpleFileVisitor<Path> {
        private final Path root;
        private final Map<Object, CorpusEntry> byFile = new HashMap<>();
        private final List<SkippedFile> skipped = new ArrayList<>();

        Listing(Path root) {
            this.root = root;
        }

        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
            if (!isText(file)) {
                return FileVisitResult.CONTINUE;
            }
            if (attrs.isRegularFile() && attrs.size() > MAX_FILE_BYTES) {
                skip(file, attrs.size() + " bytes, over the " + MAX_FILE_BYTES + "-byte limit of one document;"
                        + " split the file");
            } else if (attrs.isRegularFile()) {
                CorpusEntry entry = new CorpusEntry.OnDisk(root.relativize(file).toString(), file);
                Object key = attrs.fileKey() != null ? attrs.fileKey() : file;
                byFile.merge(key, entry, (a, b) -> a.id().compareTo(b.id()) <= 0 ? a : b);
            } else if (attrs.isSymbolicLink()) {
                skip(file, "symbolic link that cannot be followed: " + linkProblem(file));
            } else if (!attrs.isDirectory()) {
                skip(file, "not a regular file (a FIFO, socket or device); not opened");
            }
            return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult visitFileFailed(Path file, IOException e) {
            skip(file, FileErrors.reason(e));
            return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult postVisitDirectory(Path dir, IOException e) {
            if (e != null) {
                skip(dir, "listing the directory failed: " + FileErrors.reason(e));
            }
            return FileVisitResult.CONTINUE;
        }

        List<CorpusEntry> entries() {
            return List.copyOf(byFile.values());
        }

        private void skip(Path file, String reason) {
            skipped.add(new SkippedFile(file.toString(), reason));
        }

        private static String linkProblem(Path link) {
            try {
                Files.readAttributes(link, BasicFileAttributes.class);
                return "it changed while the directory was listed";
            } catch (IOException e) {
                return FileErrors.reason(e);
            }
        }
    }

    private static boolean isText(Path f) {
        String n = f.getFileName().toString().toLowerCase(Locale.ROOT);
        return n.endsWith(".txt") || n.endsWith(".md") || n.endsWith(".text");
    }

    public String name() {
        return name;
    }

    /** Every document, in id order. */
    public List<CorpusEntry> entries() {
        return entries;
    }

    /** Entries the listing could not use, by path. Reading may find more ({@link CorpusEntry#read}). */
    public List<SkippedFile> skipped() {
        return skipped;
    }

    /**
     * What a consumer throws when not one document could be read: {@code skipped} are all the
     * entries it skipped, listing and reading together.
     */
    public IOException nothingReadable(List<SkippedFile> skipped) {
        return new IOException("nothing in corpus " + name + " could be used; skipped " + skipped);
    }

    /**
     * Documents used for training: all but the held-out ones. With fewer than ten documents
     * nothing is held out at document level ({@link TokenCorpus} then holds out tokens).
     */
    public List<CorpusEntry> trainEntries() {
        return split(false);
    }

    /** Every tenth document in id order (positions 9, 19, ...), when there are ten or more. */
    public List<CorpusEntry> validationEntries() {
        return split(true);
    }

    /** Whether the split is by document (ten or more documents) rather than by token position. */
    public boolean splitsByDocument() {
        return entries.size() >= HOLD_OUT_EVERY;
    }

    private List<CorpusEntry> split(boolean heldOut) {
        List<CorpusEntry> out = new ArrayList<>();
        for (int i = 0; i < entries.size(); i++) {
            boolean isHeldOut = splitsByDocument() && i % HOLD_OUT_EVERY == HOLD_OUT_EVERY - 1;
            if (isHeldOut == heldOut) {
                out.add(entries.get(i));
            }
        }
        return out;
    }
}
