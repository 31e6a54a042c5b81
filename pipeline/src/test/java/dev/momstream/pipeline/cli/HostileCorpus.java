package dev.momstream.pipeline.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * A corpus directory, given through a symbolic link, holding every kind of entry a user may hand
 * over by mistake next to good text:
 * <pre>
 * a-good.txt, b-good.md, linked/i-good.txt   good text (linked/ is a symbolic link to a directory elsewhere)
 * c-empty.txt                                zero bytes                      -> dead letter EMPTY
 * d-latin1.txt                               ISO-8859-1 text                 -> dead letter NOT_UTF8
 * e-binary.txt                               64 KiB of random bytes          -> dead letter NOT_UTF8
 * f-nul.txt                                  UTF-8 text holding a NUL        -> dead letter BINARY
 * z-long-line.txt                            3 MB on one line, no line break -> trained (split into records)
 * g-eio.txt                                  a link to /proc/self/mem: every read fails with EIO, as a
 *                                            failing disk does, also for root
 * h-locked.txt                               good text, mode 000: unreadable unless the tests run
 *                                            with CAP_DAC_OVERRIDE (root), then a good document
 * gone.txt                                   a dangling symbolic link
 * self.txt                                   a symbolic link to itself
 * pipe.txt                                   a FIFO (opening it would block: it must not be opened)
 * loop                                       a symbolic link to its own directory
 * image.png                                  not text by its name: ignored, not reported
 * </pre>
 *
 * @param path           the corpus as the user names it: a symbolic link to the directory
 * @param lockedReadable whether this process can read a mode-000 file (it runs as root)
 */
record HostileCorpus(Path path, boolean lockedReadable) {

    static final String LONG_LINE = "z-long-line.txt";
    static final int LONG_LINE_BYTES = 3_000_000;

    static HostileCorpus create(Path dir) throws IOException, InterruptedException {
        Path real = Files.createDirectories(dir.resolve("texts"));
        Path elsewhere = Files.createDirectories(dir.resolve("elsewhere"));
        Files.writeString(real.resolve("a-good.txt"), prose("first", 120));
        Files.writeString(real.resolve("b-good.md"), prose("second", 120));
        Files.writeString(elsewhere.resolve("i-good.txt"), prose("linked", 120));
        Files.createSymbolicLink(real.resolve("linked"), elsewhere);
        Files.write(real.resolve("c-empty.txt"), new byte[0]);
        Files.write(real.resolve("d-latin1.txt"),
                "Caf\u00e9 au lait, na\u00efve fa\u00e7ade.\n".repeat(20).getBytes(StandardCharsets.ISO_8859_1));
        byte[] random = new byte[64 * 1024];
        new Random(7).nextBytes(random);
        random[0] = (byte) 0xFF; // never valid UTF-8, whatever the generator gives
        Files.write(real.resolve("e-binary.txt"), random);
        Files.writeString(real.resolve("f-nul.txt"), "A text with a NUL\u0000 in its middle.\n");
        StringBuilder line = new StringBuilder(LONG_LINE_BYTES);
        for (int i = 0; line.length() < LONG_LINE_BYTES; i++) {
            line.append("word").append(i % 977).append(' ');
        }
        line.setLength(LONG_LINE_BYTES);
        Files.writeString(real.resolve(LONG_LINE), line);
        Files.createSymbolicLink(real.resolve("g-eio.txt"), Path.of("/proc/self/mem"));
        Path locked = Files.writeString(real.resolve("h-locked.txt"), prose("locked", 40));
        Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("---------"));
        Files.createSymbolicLink(real.resolve("gone.txt"), real.resolve("no-such-file.txt"));
        Files.createSymbolicLink(real.resolve("self.txt"), Path.of("self.txt"));
        Process fifo = new ProcessBuilder("mkfifo", real.resolve("pipe.txt").toString()).inheritIO().start();
        if (fifo.waitFor() != 0) {
            throw new IOException("mkfifo failed");
        }
        Files.createSymbolicLink(real.resolve("loop"), Path.of("."));
        Files.write(real.resolve("image.png"), new byte[] {(byte) 0x89, 'P', 'N', 'G'});
        Path link = Files.createSymbolicLink(dir.resolve("corpus"), real);
        return new HostileCorpus(link, Files.isReadable(locked) && canRead(locked));
    }

    private static boolean canRead(Path file) {
        try {
            Files.readAllBytes(file);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Readable English-like text of about 60 bytes per sentence. */
    static String prose(String name, int sentences) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < sentences; i++) {
            sb.append("The ").append(name).append(" document says thing number ").append(i)
                    .append(" plainly and moves on.").append(i % 5 == 4 ? "\n\n" : " ");
        }
        return sb.toString();
    }

    /** The entries that are reported as skipped by every reader, by path, with a word of the reason. */
    Map<String, String> unreadable() {
        Map<String, String> out = new TreeMap<>();
        out.put(path.resolve("g-eio.txt").toString(), "Input/output error");
        out.put(path.resolve("gone.txt").toString(), "No such file or directory");
        out.put(path.resolve("self.txt").toString(), "Too many levels of symbolic links");
        out.put(path.resolve("pipe.txt").toString(), "not a regular file");
        out.put(path.resolve("loop").toString(), "symbolic link loop");
        if (!lockedReadable) {
            out.put(path.resolve("h-locked.txt").toString(), "Permission denied");
        }
        return out;
    }

    /** What the streaming job dead-letters, by reason. */
    static Map<String, Long> deadLetters() {
        return new TreeMap<>(Map.of("EMPTY", 1L, "NOT_UTF8", 2L, "BINARY", 1L));
    }
}
