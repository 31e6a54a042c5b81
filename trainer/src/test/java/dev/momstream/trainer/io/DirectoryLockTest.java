package dev.momstream.trainer.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The lock in one process; a second process and kill -9 are in pipeline's StreamingCliIT. */
class DirectoryLockTest {

    @Test
    void aHeldDirectoryIsRefusedToASecondHolderUntilReleased(@TempDir Path root) throws Exception {
        Path dir = root.resolve("a/b");
        long pid = ProcessHandle.current().pid();
        try (DirectoryLock first = DirectoryLock.acquire(dir)) {
            assertEquals(pid + "\n", Files.readString(dir.resolve(DirectoryLock.FILE)));
            // the same directory under another name is the same directory
            DirectoryLock.DirectoryLockedException e = assertThrows(DirectoryLock.DirectoryLockedException.class,
                    () -> DirectoryLock.acquire(root.resolve("a/./b/../b")));
            assertTrue(e.getMessage().contains("(PID " + pid + " (this process), which holds "), e.getMessage());
            try (DirectoryLock other = DirectoryLock.acquire(root.resolve("a"))) {
                assertTrue(Files.exists(root.resolve("a").resolve(DirectoryLock.FILE)), "a parent is another directory");
            }
        }
        try (DirectoryLock again = DirectoryLock.acquire(dir)) {
            assertEquals(pid + "\n", Files.readString(dir.resolve(DirectoryLock.FILE)));
        }
    }
}
