package dev.momstream.trainer.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class TorchRuntimeTest {

    @Test
    void offlineModeAndTrackingOptOutAreInForce() {
        TorchRuntime.engine();
        assertTrue(TorchRuntime.isOffline());
        assertTrue(TorchRuntime.isTrackingOptedOut());
        assertEquals("PyTorch", TorchRuntime.engine().getEngineName());
        assertEquals("2.7.1", TorchRuntime.engine().getVersion());
    }

    /**
     * A fresh JVM with neither setting given from outside starts the engine from the Maven jars
     * and computes, while a security manager fails any socket or DNS access.
     */
    @Test
    void engineStartsWithoutTouchingTheNetwork() throws Exception {
        Result run = probe();
        assertEquals(0, run.exit, run.output);
        assertTrue(run.output.contains("offline=true optOut=true sum=3.0"), run.output);
        Result control = probe("control");
        assertEquals(2, control.exit, "the guard must catch a deliberate connection: " + control.output);
        Result raw = probe("raw");
        // without the settings DJL probes the EC2 metadata address for its telemetry
        assertTrue(raw.exit != 0 && raw.output.contains("network access to 169.254.169.254"), raw.output);
    }

    @Test
    void deviceFlagsAreParsedAndAMissingGpuIsExplained() {
        assertEquals(Device.cpu(), TorchRuntime.device("cpu"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TorchRuntime.device("gpu"));
        assertTrue(e.getMessage().contains("PYTORCH_LIBRARY_PATH"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TorchRuntime.device("tpu"));
    }

    private record Result(int exit, String output) {}

    private static Result probe(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Djava.security.manager=allow",
                "-cp", System.getProperty("java.class.path"),
                NoNetworkProbe.class.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().remove("DJL_OFFLINE");
        pb.environment().remove("OPT_OUT_TRACKING");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        return new Result(p.exitValue(), out);
    }
}
