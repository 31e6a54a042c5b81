package dev.momstream.trainer.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** Device choice: the CPU unless CUDA is asked for and available, with the reason when it is not. */
class InferenceOptionsTest {

    @Test
    void aGpuRequestWithoutCudaRunsOnTheCpuAndSaysWhy() {
        Assumptions.assumeFalse(OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA),
                "this build has the CUDA provider");
        OrtSessions.Placement p = OrtSessions.place(InferenceOptions.defaults().withDevice("gpu:1"));
        assertEquals("cpu", p.provider());
        assertTrue(p.reason().contains("--device gpu:1 requested") && p.reason().contains("-Pgpu"), p.reason());
        assertEquals(new OrtSessions.Placement("cpu", "requested"), OrtSessions.place(InferenceOptions.defaults()));
    }

    @Test
    void devicesAndThreadCountsAreChecked() {
        assertEquals(-1, InferenceOptions.defaults().gpu());
        assertEquals(0, InferenceOptions.defaults().withDevice("GPU").gpu());
        assertEquals(2, InferenceOptions.defaults().withDevice("cuda:2").gpu());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> InferenceOptions.defaults().withDevice("tpu"));
        assertTrue(e.getMessage().contains("unknown device 'tpu'"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> InferenceOptions.defaults().withDevice("gpu:-1"));
        assertThrows(IllegalArgumentException.class, () -> InferenceOptions.defaults().withThreads(-1));
        assertEquals(1, InferenceOptions.defaults().decodeThreads());
        assertEquals(3, InferenceOptions.defaults().withThreads(3).decodeThreads());
    }
}
