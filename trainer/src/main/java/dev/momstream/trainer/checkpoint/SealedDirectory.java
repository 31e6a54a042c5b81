package dev.momstream.trainer.checkpoint;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * A directory of files with a {@link Manifest}, written to a hidden temporary directory beside
 * its final name and renamed into place: a reader (or a crash) never sees half of one under the
 * final name. Checkpoints and the replicas' synchronisation files are written this way.
 */
public final class SealedDirectory {

    /** Writes the files into {@code dir} and returns each file's SHA-256, in listing order. */
    @FunctionalInterface
    public interface Contents {
        Map<String, String> write(Path dir) throws IOException;
    }

    private SealedDirectory() {
    }

    /** Writes {@code contents} and its manifest, then renames the directory to {@code target}, which must not exist. */
    public static Path write(Path target, Contents contents) throws IOException {
        Path dir = target.toAbsolutePath().normalize();
        if (Files.exists(dir)) {
            throw new IOException(dir + " already exists");
        }
        Path parent = dir.getParent();
        Files.createDirectories(parent);
        Path tmp = parent.resolve("." + dir.getFileName() + ".tmp-" + UUID.randomUUID());
        Files.createDirectory(tmp);
        try {
            Manifest.write(tmp, new LinkedHashMap<>(contents.write(tmp)));
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            syncDirectory(parent);
        } catch (IOException | RuntimeException e) {
            try {
                Checkpoint.delete(tmp);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup); // a leftover hidden temporary directory is harmless
            }
            throw e;
        }
        return dir;
    }

    private static void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException ignored) {
            // not every file system can sync a directory; the rename itself is still atomic
        }
    }
}
