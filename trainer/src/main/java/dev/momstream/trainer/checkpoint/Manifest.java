package dev.momstream.trainer.checkpoint;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * {@code MANIFEST.sha256}: one {@code <sha256>  <file>} line per file, the format of
 * {@code sha256sum}, so {@code sha256sum -c MANIFEST.sha256} checks a checkpoint by hand too.
 */
public final class Manifest {
    public static final String FILE = "MANIFEST.sha256";

    private Manifest() {}

    /** Writes the manifest of {@code digests} (file name to SHA-256, in listing order). */
    public static void write(Path dir, Map<String, String> digests) throws IOException {
        StringBuilder sb = new StringBuilder();
        digests.forEach((f, d) -> sb.append(d).append("  ").append(f).append('\n'));
        Path file = dir.resolve(FILE);
        Files.writeString(file, sb.toString(), StandardCharsets.UTF_8);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }

    /** Writes a small text file durably and returns its SHA-256. */
    static String writeText(Path file, String text) throws IOException {
        return writeBytes(file, text.getBytes(StandardCharsets.UTF_8));
    }

    /** Writes a new file durably and returns its SHA-256. */
    public static String writeBytes(Path file, byte[] bytes) throws IOException {
        Files.write(file, bytes, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        return HexFormat.of().formatHex(newDigest().digest(bytes));
    }

    public static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Checks a {@code kind} directory (a checkpoint, a model export; named in the messages)
     * against its manifest: every file in {@code required} must be listed, every file in the
     * directory must be listed (nothing may sit beside the verified files), and every listed file
     * must match its digest. An empty or partial manifest is therefore a refusal, not a manifest
     * with less to check. Returns file name to digest.
     */
    public static Map<String, String> verify(Path dir, String kind, Set<String> required)
            throws CheckpointException {
        Path manifest = dir.resolve(FILE);
        List<String> lines;
        try {
            lines = Files.readAllLines(manifest, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(kind + " " + dir + " is incomplete or not a " + kind + ": "
                    + FILE + " is missing");
        } catch (IOException e) {
            throw new CheckpointException(kind + " " + dir + ": cannot read " + FILE, e);
        }
        Map<String, String> listed = new TreeMap<>();
        for (String line : lines) {
            if (line.isBlank()) {
                continue;
            }
            int sep = line.indexOf("  ");
            if (sep != 64) {
                throw new CheckpointException(kind + " " + dir + ": " + FILE
                        + " has a malformed line: " + line);
            }
            String name = line.substring(sep + 2);
            Path home = dir.toAbsolutePath().normalize();
            if (name.contains("/") || !home.equals(home.resolve(name).normalize().getParent())) {
                throw new CheckpointException(kind + " " + dir + ": " + FILE
                        + " names a file outside the " + kind + ": " + name);
            }
            if (listed.put(name, line.substring(0, sep)) != null) {
                throw new CheckpointException(kind + " " + dir + ": " + FILE + " lists " + name + " twice");
            }
        }
        for (String name : new TreeSet<>(required)) {
            if (!listed.containsKey(name)) {
                throw new CheckpointException(kind + " " + dir + ": " + FILE + " does not list " + name
                        + ", which the " + kind + " needs; refusing a " + kind + " whose files are not all verified");
            }
        }
        for (String name : present(dir, kind)) {
            if (!name.equals(FILE) && !listed.containsKey(name)) {
                throw new CheckpointException(kind + " " + dir + " holds " + name + ", which " + FILE
                        + " does not list; refusing a " + kind + " that was changed after it was written");
            }
        }
        Map<String, String> digests = new TreeMap<>();
        for (Map.Entry<String, String> e : listed.entrySet()) {
            String name = e.getKey();
            String actual;
            try {
                actual = sha256(dir.resolve(name));
            } catch (NoSuchFileException x) {
                throw new CheckpointException(kind + " " + dir + ": " + name
                        + " is listed in " + FILE + " but missing");
            } catch (IOException x) {
                throw new CheckpointException(kind + " " + dir + ": cannot read " + name, x);
            }
            if (!actual.equals(e.getValue())) {
                throw new CheckpointException(kind + " " + dir + ": " + name
                        + " fails its SHA-256 check (expected " + e.getValue() + ", found " + actual
                        + "); the file is corrupt, refusing to load it");
            }
            digests.put(name, actual);
        }
        return digests;
    }

    private static List<String> present(Path dir, String kind) throws CheckpointException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new CheckpointException(kind + " " + dir + ": cannot list its files", e);
        }
    }

    public static String sha256(Path file) throws IOException {
        MessageDigest md = newDigest();
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
