package dev.momstream.pipeline.cli;

import java.nio.file.Files;
import java.nio.file.Path;

/** The {@code --out} of a command: checked before anything is started, so that a typo costs nothing. */
final class OutDirectory {

    private OutDirectory() {
    }

    /** Refuses an {@code --out} that exists but is not a directory (a file, say). */
    static Path check(Path dir) {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new IllegalArgumentException("--out " + dir + " is not a directory");
        }
        return dir;
    }
}
