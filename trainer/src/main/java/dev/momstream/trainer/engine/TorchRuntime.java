package dev.momstream.trainer.engine;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.util.Utils;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts DJL's PyTorch engine from the libtorch inside the Maven jars, offline and without
 * telemetry. Every entry point goes through {@link #engine()} before touching an NDArray.
 *
 * <p>DJL reads {@code ai.djl.offline} and {@code OPT_OUT_TRACKING} when the engine starts; with
 * both set it opens no network connection (no model-zoo lookups, no EC2 metadata probe, no S3
 * telemetry). An environment that explicitly turns offline mode off is refused rather than
 * silently allowed to download.
 */
public final class TorchRuntime {
    private static final Logger LOG = LoggerFactory.getLogger(TorchRuntime.class);
    public static final String OFFLINE = "ai.djl.offline";
    public static final String OPT_OUT = "OPT_OUT_TRACKING";
    static final String THREADS = "ai.djl.pytorch.num_threads";
    /** The system property of the user's {@code --threads} (libtorch's and ONNX Runtime's intra-op threads). */
    public static final String THREADS_PROPERTY = "mom.threads";
    /** The device a model runs on unless the user names another (see {@link #device}). */
    public static final String DEFAULT_DEVICE = "cpu";

    private static volatile Engine engine;

    private TorchRuntime() {}

    /** The PyTorch engine, started once per JVM in offline, no-telemetry mode. */
    public static Engine engine() {
        Engine e = engine;
        if (e == null) {
            synchronized (TorchRuntime.class) {
                e = engine;
                if (e == null) {
                    e = start();
                    engine = e;
                }
            }
        }
        return e;
    }

    private static Engine start() {
        if (System.getProperty(OFFLINE) == null) {
            System.setProperty(OFFLINE, "true");
        }
        if (System.getProperty(OPT_OUT) == null) {
            System.setProperty(OPT_OUT, "true");
        }
        if (!isOffline() || !isTrackingOptedOut()) {
            throw new IllegalStateException("refusing to start DJL with downloads or telemetry "
                    + "enabled: unset DJL_OFFLINE/OPT_OUT_TRACKING or set them to true");
        }
        if (System.getenv("PYTORCH_VERSION") != null) {
            throw new IllegalStateException("PYTORCH_VERSION is set; DJL would try to download "
                    + "that libtorch. Unset it (point PYTORCH_LIBRARY_PATH at a local libtorch "
                    + "with PYTORCH_FLAVOR instead).");
        }
        Engine e = Engine.getEngine("PyTorch");
        LOG.info("PyTorch {} engine ready ({} GPU(s) visible, {} intra-op threads)",
                e.getVersion(), e.getGpuCount(), JniUtils.getNumThreads());
        return e;
    }

    /**
     * Sets libtorch's intra-op thread count unless the user chose one
     * ({@code -Dai.djl.pytorch.num_threads}); effective only before the engine starts. Runs
     * that share the machine with a Kafka broker and Flink give them a core: libtorch's
     * parallel regions wait for their slowest thread, so one preempted thread stalls them all.
     */
    public static void defaultIntraOpThreads(int threads) {
        if (System.getProperty(THREADS) != null) {
            return;
        }
        if (engine != null) {
            LOG.warn("libtorch already started with {} threads; ignoring the request for {}",
                    JniUtils.getNumThreads(), threads);
            return;
        }
        System.setProperty(THREADS, Integer.toString(Math.max(1, threads)));
    }

    /** libtorch's intra-op thread count (starts the engine). */
    public static int intraOpThreads() {
        engine();
        return JniUtils.getNumThreads();
    }

    /** Whether DJL will refuse every download (model zoo, native libraries). */
    public static boolean isOffline() {
        return Utils.isOfflineMode();
    }

    /** Whether DJL's engine start skips its telemetry call. */
    public static boolean isTrackingOptedOut() {
        return Boolean.parseBoolean(Utils.getEnvOrSystemProperty(OPT_OUT));
    }

    /**
     * Parses a device flag: {@code cpu} ({@link #DEFAULT_DEVICE}, also for null), {@code gpu}
     * (= {@code gpu:0}) or {@code gpu:N}. A GPU needs a CUDA libtorch (see README, "GPU").
     */
    public static Device device(String spec) {
        String s = spec == null ? DEFAULT_DEVICE : spec.trim().toLowerCase(Locale.ROOT);
        if (s.equals("cpu")) {
            return Device.cpu();
        }
        if (s.equals("gpu") || s.equals("cuda") || s.startsWith("gpu:") || s.startsWith("cuda:")) {
            int id = s.contains(":") ? Integer.parseInt(s.substring(s.indexOf(':') + 1)) : 0;
            int gpus = engine().getGpuCount();
            if (id >= gpus) {
                throw new IllegalArgumentException("device " + spec + " requested but "
                        + (gpus == 0 ? "no GPU is visible to libtorch (the bundled libtorch is "
                                + "CPU-only; set PYTORCH_LIBRARY_PATH and PYTORCH_FLAVOR to a "
                                + "CUDA build)" : "only " + gpus + " GPU(s) are visible"));
            }
            return Device.gpu(id);
        }
        throw new IllegalArgumentException("unknown device '" + spec + "' (cpu, gpu or gpu:N)");
    }
}
