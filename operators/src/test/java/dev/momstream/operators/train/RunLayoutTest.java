package dev.momstream.operators.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Cards are written whole, and a restore's republished card is not written again (nor needs room). */
class RunLayoutTest {

    private static LineageCard card(long version, long step) {
        return new LineageCard("run", version, step, step * 128, version - 1, step - 1, "hash", "/ckpt-" + version,
                "sum", null, null, 1, List.of(), 1_000L * version);
    }

    @Test
    void aCardAlreadyOnDiskAsItWouldBeWrittenIsLeftAsItIs(@TempDir Path dir) throws Exception {
        RunLayout layout = new RunLayout(dir);
        Path written = layout.writeCard(card(3, 30));
        Object inode = Files.getAttribute(written, "unix:ino");
        assertEquals(written, layout.writeCard(card(3, 30)));
        assertEquals(inode, Files.getAttribute(written, "unix:ino"), "the same card was written again");

        layout.writeCard(card(3, 31));
        assertNotEquals(inode, Files.getAttribute(written, "unix:ino"));
        assertEquals(List.of(card(3, 31)), layout.cards());
        try (var files = Files.list(layout.versions())) {
            assertEquals(List.of(written), files.toList(), "no temporary file is left");
        }
    }
}
