package dev.momstream.trainer.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Set;

/**
 * One writer per directory: an exclusive operating-system lock on {@code <dir>/mom.lock}, which
 * holds the writer's PID. The system releases the lock when the process ends however it ends
 * ({@code kill -9} included), so a dead writer leaves no stale lock, only the file.
 *
 * <p>A POSIX lock belongs to the process, and closing any descriptor of the file releases it: so
 * this JVM never opens the file of a directory it holds, and refuses a second holder itself.
 */
public final class DirectoryLock implements AutoCloseable {

    public static final String FILE = "mom.lock";

    // Directories this JVM holds (real paths).
    private static final Set<Path> HELD = new HashSet<>();

    private final Path dir;
    private final FileChannel channel;

    private DirectoryLock(Path dir, FileChannel channel) {
        this.dir = dir;
        this.channel = channel;
    }

    /**
     * Creates {@code dir} if needed and locks it.
     *
     * @throws DirectoryLockedException when another process (or this one) holds it
     */
    public static DirectoryLock acquire(Path dir) throws IOException {
        Files.createDirectories(dir);
        Path real = dir.toRealPath();
        synchronized (HELD) {
            if (HELD.contains(real)) {
                throw new DirectoryLockedException(dir, ProcessHandle.current().pid() + " (this process)");
            }
            FileChannel channel = FileChannel.open(real.resolve(FILE), StandardOpenOption.CREATE,
                    StandardOpenOption.READ, StandardOpenOption.WRITE);
            try {
                FileLock lock;
                try {
                    lock = channel.tryLock();
                } catch (OverlappingFileLockException heldHereOtherwise) {
                    lock = null;
                }
                if (lock == null) {
                    throw new DirectoryLockedException(dir, holder(channel));
                }
                channel.truncate(0);
                channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8)));
                channel.force(false);
            } catch (IOException e) {
                channel.close();
                throw e;
            }
            HELD.add(real);
            return new DirectoryLock(real, channel);
        }
    }

    /** The PID the holder wrote; "unknown" in the moment between its locking and writing. */
    private static String holder(FileChannel channel) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(32);
        channel.read(buffer, 0);
        String pid = new String(buffer.array(), 0, buffer.position(), StandardCharsets.UTF_8).trim();
        return pid.isEmpty() ? "unknown" : pid;
    }

    /** Releases the lock; the file stays (removing it could race with a new holder). */
    @Override
    public void close() throws IOException {
        synchronized (HELD) {
            try {
                channel.close();
            } finally {
                HELD.remove(dir);
            }
        }
    }

    /** Another writer holds the directory. */
    public static final class DirectoryLockedException extends IOException {
        private static final long serialVersionUID = 1L;

        DirectoryLockedException(Path dir, String pid) {
            super(dir + " is in use by another mom process (PID " + pid + ", which holds " + dir.resolve(FILE)
                    + "): one writer per directory; wait for it to end or stop it");
        }
    }
}
