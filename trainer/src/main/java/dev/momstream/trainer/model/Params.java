package dev.momstream.trainer.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.engine.NoGrad;
import dev.momstream.trainer.engine.TorchRandom;
import dev.momstream.trainer.engine.TorchRuntime;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * The model's named parameters (docs/MODEL.md §10), owned by one long-lived manager on the
 * model's device. Nothing else is ever created in that manager: per-step work happens in child managers.
 */
public final class Params implements AutoCloseable {
    private final ParamLayout layout;
    private final NDManager manager;
    private final DataType dtype;
    private final Map<String, NDArray> arrays = new LinkedHashMap<>();

    private Params(ParamLayout layout, NDManager manager, DataType dtype) {
        this.layout = layout;
        this.manager = manager;
        this.dtype = dtype;
    }

    /** Fresh initial values (see {@link #initialValue}). */
    public static Params initialize(MomConfig config, Device device, DataType dtype, long seed) {
        return build(ParamLayout.of(config), device, dtype,
                cpu -> spec -> initialValue(cpu, spec, config, dtype, seed));
    }

    /**
     * The fresh value of one parameter: GPT-2 style (normal 0.02, residual projections
     * 0.02/sqrt(2 depth), zero biases, unit gains). Random tensors draw from libtorch's CPU
     * generator seeded by (seed, name), so a value depends only on its name and the seed: not on
     * the device, and not on which other parameters the configuration has.
     */
    public static NDArray initialValue(NDManager cpu, ParamSpec spec, MomConfig config,
            DataType dtype, long seed) {
        Shape shape = new Shape(spec.shape());
        return switch (spec.init()) {
            case ZEROS -> cpu.zeros(shape, dtype);
            case ONES -> cpu.ones(shape, dtype);
            case NORMAL, NORMAL_RESIDUAL -> {
                TorchRandom.seed(seedFor(seed, spec.name()));
                double std = spec.init() == ParamSpec.Init.NORMAL ? MomConfig.INIT_STD
                        : MomConfig.INIT_STD / Math.sqrt(2.0 * Math.max(1, config.depth()));
                yield cpu.randomNormal(0f, (float) std, shape, DataType.FLOAT32).toType(dtype, false);
            }
        };
    }

    /** Parameters with given values (from a checkpoint or another model), checked against the layout. */
    public static Params of(MomConfig config, Device device, DataType dtype,
            Function<NDManager, Function<ParamSpec, NDArray>> values) {
        return build(ParamLayout.of(config), device, dtype, values);
    }

    private static Params build(ParamLayout layout, Device device, DataType dtype,
            Function<NDManager, Function<ParamSpec, NDArray>> values) {
        NDManager manager = TorchRuntime.engine().newBaseManager(device);
        Params params = new Params(layout, manager, dtype);
        try (NDManager cpu = TorchRuntime.engine().newBaseManager(Device.cpu());
                NoGrad ignored = new NoGrad()) {
            Function<ParamSpec, NDArray> source = values.apply(cpu);
            for (ParamSpec spec : layout.specs()) {
                NDArray v = source.apply(spec);
                if (!Arrays.equals(v.getShape().getShape(), spec.shape())) {
                    throw new IllegalArgumentException("parameter " + spec.name() + " has shape "
                            + v.getShape() + ", expected " + new Shape(spec.shape()));
                }
                NDArray p = v.toDevice(device, true).toType(dtype, true);
                p.attach(manager);
                p.setName(spec.name());
                p.setRequiresGradient(true);
                params.arrays.put(spec.name(), p);
            }
        } catch (RuntimeException e) {
            params.close();
            throw e;
        }
        return params;
    }

    static long seedFor(long seed, String name) {
        long h = seed * 0x9E3779B97F4A7C15L;
        for (int i = 0; i < name.length(); i++) {
            h = (h ^ name.charAt(i)) * 0x100000001B3L;
        }
        return h ^ (h >>> 29);
    }

    public NDArray get(String name) {
        NDArray a = arrays.get(name);
        if (a == null) {
            throw new IllegalArgumentException("no parameter named '" + name + "'");
        }
        return a;
    }

    public Map<String, NDArray> all() {
        return Collections.unmodifiableMap(arrays);
    }

    public ParamLayout layout() {
        return layout;
    }

    public DataType dtype() {
        return dtype;
    }

    public Device device() {
        return manager.getDevice();
    }

    /** A child manager on the parameters' device, for one step's temporaries. */
    public NDManager newStepManager() {
        return manager.newSubManager();
    }

    @Override
    public void close() {
        manager.close();
    }
}
