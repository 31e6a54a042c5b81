package dev.momstream.operators.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.momstream.kafka.records.ModelEvent;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class PublicationTest {

    private static Publication at(long step, Validation validation) {
        return new Publication(new TrainerSnapshot(7, "/run/checkpoints/ckpt-7", "abc", step, 4096, 1234L,
                List.of(), validation), 3, 40, List.of());
    }

    @Test
    void theEventNamesTheVersionItsCheckpointAndCard() {
        ModelEvent e = at(50, new Validation(50, 2.5, 1024)).event("run-1", Path.of("/run/versions/v7.json"), "h");
        assertEquals("run-1", e.runId());
        assertEquals(7, e.version());
        assertEquals(50, e.step());
        assertEquals(4096, e.tokensSeen());
        assertEquals("/run/checkpoints/ckpt-7", e.checkpointPath());
        assertEquals("/run/versions/v7.json", e.lineagePath());
        assertEquals("h", e.configHash());
        assertEquals(2.5, e.validationLoss());
        assertEquals(1234L, e.ts());
    }

    @Test
    void aValidationOfAnEarlierStepIsNotTheVersionsLoss() {
        assertNull(at(50, new Validation(40, 2.5, 1024)).event("run-1", Path.of("c.json"), "h").validationLoss());
        assertNull(at(50, null).event("run-1", Path.of("c.json"), "h").validationLoss());
    }
}
