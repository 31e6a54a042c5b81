package dev.momstream.trainer.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions;
import ai.onnxruntime.OrtSession.SessionOptions.ExecutionMode;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Creates ONNX Runtime sessions on the requested execution provider, falling back to the CPU. */
final class OrtSessions {
    private static final Logger LOG = LoggerFactory.getLogger(OrtSessions.class);

    private OrtSessions() {}

    /** Where a model's sessions run, and why. */
    record Placement(String provider, String reason) {}

    /**
     * The provider {@code options} ask for, if this ONNX Runtime build and machine can give it:
     * CUDA needs the {@code onnxruntime_gpu} artifact and a working CUDA setup.
     */
    static Placement place(InferenceOptions options) {
        int gpu = options.gpu();
        if (gpu < 0) {
            return new Placement("cpu", "requested");
        }
        if (!OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA)) {
            return new Placement("cpu", "--device " + options.device() + " requested, but this ONNX Runtime "
                    + "build has no CUDA provider (the default onnxruntime artifact is CPU-only; build with "
                    + "-Pgpu for onnxruntime_gpu)");
        }
        try (SessionOptions probe = new SessionOptions()) {
            probe.addCUDA(gpu);
            return new Placement("cuda:" + gpu, "requested");
        } catch (OrtException e) {
            return new Placement("cpu", "--device " + options.device() + " requested, but the CUDA provider "
                    + "cannot start (" + e.getMessage() + "; it needs CUDA 12, cuDNN 9 and a visible GPU)");
        }
    }

    static OrtSession open(Path model, int threads, InferenceOptions options, Placement placement) throws OrtException {
        try (SessionOptions so = new SessionOptions()) {
            so.setOptimizationLevel(options.optimization());
            so.setExecutionMode(ExecutionMode.SEQUENTIAL);
            so.setInterOpNumThreads(1);
            // Every text length is another input shape, and so is every decode step. With memory
            // patterns ONNX Runtime plans and allocates one block per shape, and the first runs of
            // each new shape took 5-13x as long here (a 40-token score: 33-66 ms instead of 5 ms);
            // without, every run takes its buffers from the session's arena, which grows once to
            // the largest shape seen and serves all smaller ones (docs/PERFORMANCE.md).
            so.setMemoryPatternOptimization(false);
            if (threads > 0) {
                so.setIntraOpNumThreads(threads);
            }
            if (placement.provider().startsWith("cuda:")) {
                so.addCUDA(options.gpu());
            }
            return OrtEnvironment.getEnvironment().createSession(model.toString(), so);
        }
    }

    static void log(Path dir, Placement placement) {
        if (placement.reason().equals("requested")) {
            LOG.info("model {} runs on ONNX Runtime's {} provider", dir, placement.provider());
        } else {
            LOG.warn("model {} runs on the CPU: {}", dir, placement.reason());
        }
    }
}
