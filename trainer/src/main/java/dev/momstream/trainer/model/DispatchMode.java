package dev.momstream.trainer.model;

/** How a routed step executes its modules; every mode computes the same function. */
public enum DispatchMode {
    /**
     * {@link #STACKED} when the busiest module has at most 25% more rows than an even share
     * (padding waste bounded), else {@link #LOOP}.
     */
    AUTO,
    /** One matrix product per module on exactly its rows. */
    LOOP,
    /**
     * All modules in one batched matrix product over a [modules, maxRows, d] layout padded with
     * zero rows: op count and GEMM shape independent of the pool size.
     */
    STACKED
}
