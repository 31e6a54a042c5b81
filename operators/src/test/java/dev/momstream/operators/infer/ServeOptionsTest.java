package dev.momstream.operators.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Serve options out of range are refused together, each named with its value, and only those. */
class ServeOptionsTest {

    @Test
    void everyValueOutOfRangeIsNamedOnceAndNoOther() {
        ServeOptions.Builder ok = ServeOptions.defaults().toBuilder();
        IllegalArgumentException batch = assertThrows(IllegalArgumentException.class,
                () -> ok.batching(0, Duration.ofMillis(5)).build());
        assertEquals("invalid serve options: maxBatch=0 must be at least 1", batch.getMessage());

        IllegalArgumentException all = assertThrows(IllegalArgumentException.class,
                () -> ServeOptions.defaults().toBuilder().threads(-1).batching(8, Duration.ofMillis(-1)).maxQueued(0)
                        .limits(0, 1, -1).build());
        assertEquals("invalid serve options: threads=-1 must not be negative; maxQueued=0 must be at least 1;"
                + " maxDelay=PT-0.001S must not be negative; maxRequestBytes=0 must be at least 1;"
                + " maxScoreTokens=1 must be at least 2; maxNewTokens=-1 must not be negative", all.getMessage());

        ServeOptions edge = ServeOptions.defaults().toBuilder().threads(0).batching(1, Duration.ZERO).maxQueued(1)
                .limits(1, 2, 0).build();
        assertEquals(1, edge.maxBatch());
    }
}
