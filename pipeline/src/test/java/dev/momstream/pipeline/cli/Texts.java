package dev.momstream.pipeline.cli;

import dev.momstream.trainer.data.Corpus;
import dev.momstream.trainer.data.CorpusEntry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/** Small corpora for CLI runs, cut from the bundled one. */
final class Texts {

    private Texts() {
    }

    /** {@code files} text files of {@code sentences} consecutive sentences each, in {@code dir}. */
    static Path write(Path dir, int files, int sentences) throws IOException {
        Files.createDirectories(dir);
        String[] all = Corpus.bundled().entries().stream()
                .flatMap(e -> Arrays.stream(((CorpusEntry.InMemory) e).text().split("(?<=\\.) ")))
                .limit((long) files * sentences)
                .toArray(String[]::new);
        for (int f = 0; f < files; f++) {
            Files.writeString(dir.resolve("doc" + f + ".txt"),
                    String.join(" ", Arrays.copyOfRange(all, f * sentences, (f + 1) * sentences)));
        }
        return dir;
    }
}
