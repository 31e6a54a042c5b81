package dev.momstream.trainer.data;

import com.fasterxml.jackson.databind.JsonNode;
import dev.momstream.trainer.config.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

/**
 * An ordered list of documents (sorted by id) with a deterministic validation split: with ten
 * or more documents every tenth one (positions 9, 19, ...) is held out.
 */
public final class Corpus {
    static final int HOLD_OUT_EVERY = 10;
    /** The bundled sample: US State of the Union addresses 1790-2018, public domain. */
    static final String BUNDLED = "/dev/momstream/trainer/data/sotu.jsonl.gz";

    private final String name;
    private final List<Document> documents;

    private Corpus(String name, List<Document> documents) {
        this.name = name;
        this.documents = List.copyOf(documents);
    }

    /** State of the Union addresses (233 documents, 10.8 M characters), from the jar. */
    public static Corpus bundled() {
        List<Document> docs = new ArrayList<>();
        try (InputStream raw = Corpus.class.getResourceAsStream(BUNDLED)) {
            if (raw == null) {
                throw new IllegalStateException("bundled corpus " + BUNDLED + " is missing from the jar");
            }
            BufferedReader r = new BufferedReader(new InputStreamReader(new GZIPInputStream(raw),
                    StandardCharsets.UTF_8));
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                JsonNode n = Json.MAPPER.readTree(line);
                docs.add(new Document(n.get("id").asText(), n.get("text").asText()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the bundled corpus", e);
        }
        return new Corpus("sotu", sorted(docs));
    }

    /**
     * The user's text: a file (one document) or a directory (every regular file below it whose
     * name ends in .txt, .md or .text is a document, named by its relative path).
     */
    public static Corpus fromPath(Path path) throws IOException {
        if (Files.isRegularFile(path)) {
            return new Corpus(path.getFileName().toString(),
                    List.of(new Document(path.getFileName().toString(), read(path))));
        }
        if (!Files.isDirectory(path)) {
            throw new IOException("corpus " + path + " is neither a file nor a directory");
        }
        List<Document> docs = new ArrayList<>();
        try (Stream<Path> files = Files.walk(path)) {
            for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)
                    .filter(Corpus::isText).sorted()::iterator) {
                docs.add(new Document(path.relativize(f).toString(), read(f)));
            }
        }
        if (docs.isEmpty()) {
            throw new IOException("corpus directory " + path + " has no .txt, .md or .text files");
        }
        return new Corpus(path.getFileName().toString(), sorted(docs));
    }

    private static boolean isText(Path f) {
        String n = f.getFileName().toString().toLowerCase(Locale.ROOT);
        return n.endsWith(".txt") || n.endsWith(".md") || n.endsWith(".text");
    }

    private static String read(Path f) throws IOException {
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(Files.readAllBytes(f)))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new IOException(f + " is not valid UTF-8 text", e);
        }
    }

    private static List<Document> sorted(List<Document> docs) {
        List<Document> out = new ArrayList<>(docs);
        out.sort(Comparator.comparing(Document::id));
        return out;
    }

    public String name() {
        return name;
    }

    public List<Document> documents() {
        return documents;
    }

    /**
     * Documents used for training: all but the held-out ones. With fewer than ten documents
     * nothing is held out at document level ({@link TokenCorpus} then holds out tokens).
     */
    public List<Document> trainDocuments() {
        return split(false);
    }

    /** Every tenth document in id order (positions 9, 19, ...), when there are ten or more. */
    public List<Document> validationDocuments() {
        return split(true);
    }

    /** Whether the split is by document (ten or more documents) rather than by token position. */
    public boolean splitsByDocument() {
        return documents.size() >= HOLD_OUT_EVERY;
    }

    private List<Document> split(boolean heldOut) {
        List<Document> out = new ArrayList<>();
        for (int i = 0; i < documents.size(); i++) {
            boolean isHeldOut = splitsByDocument() && i % HOLD_OUT_EVERY == HOLD_OUT_EVERY - 1;
            if (isHeldOut == heldOut) {
                out.add(documents.get(i));
            }
        }
        return out;
    }
}
