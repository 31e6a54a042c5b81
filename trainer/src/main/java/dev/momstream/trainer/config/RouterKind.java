package dev.momstream.trainer.config;

/** How a chunk's routers turn a token's residual vector into module scores (docs/MODEL.md §4). */
public enum RouterKind {
    /** Recurrent router: keeps a state across the rounds of a chunk. The paper's default. */
    GRU,
    /** Stateless two-layer perceptron. */
    MLP
}
