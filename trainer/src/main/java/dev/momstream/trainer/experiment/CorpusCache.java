package dev.momstream.trainer.experiment;

import dev.momstream.trainer.data.Corpus;
import dev.momstream.trainer.data.TokenCorpus;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bundled corpus's tokens, kept in the results directory ({@code corpus.tokens}) so that each
 * run's JVM reads them instead of tokenizing 2 M tokens again (seconds of CPU per run). A file
 * that does not read back whole is tokenized again and replaced; each writer writes a file of its
 * own and moves it into place, so that runs started together cannot tear it.
 */
final class CorpusCache {
    private static final Logger LOG = LoggerFactory.getLogger(CorpusCache.class);
    static final String FILE = "corpus.tokens";
    private static final int MAGIC = 0x4d6f4d54; // "MoMT"

    private CorpusCache() {}

    static TokenCorpus bundled(Path results) throws IOException {
        Path file = results.resolve(FILE);
        if (Files.isRegularFile(file)) {
            try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file)))) {
                if (in.readInt() == MAGIC) {
                    int[] train = ints(in);
                    int[] validation = ints(in);
                    if (in.read() < 0) {
                        return TokenCorpus.ofTokens(train, validation);
                    }
                }
            } catch (IOException | RuntimeException e) {
                LOG.warn("{} does not read back ({}); tokenizing the corpus again", file, e.toString());
            }
        }
        TokenCorpus corpus = TokenCorpus.of(Corpus.bundled());
        Path tmp = Files.createTempFile(results, FILE, ".tmp"); // runs of a parallel grid may write it at once
        try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(tmp)))) {
            out.writeInt(MAGIC);
            write(out, corpus.train());
            write(out, corpus.validation());
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return corpus;
    }

    private static int[] ints(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > 1 << 28) {
            throw new IOException("implausible length " + n);
        }
        int[] v = new int[n];
        for (int i = 0; i < n; i++) {
            v[i] = in.readInt();
        }
        return v;
    }

    private static void write(DataOutputStream out, int[] v) throws IOException {
        out.writeInt(v.length);
        for (int x : v) {
            out.writeInt(x);
        }
    }
}
