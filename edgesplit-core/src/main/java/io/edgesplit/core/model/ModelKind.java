package io.edgesplit.core.model;

/** What kind of model a graph is, as far as splitting it is concerned. */
public enum ModelKind {
    /** Transformer encoder: one pass per request, no state kept between requests. */
    ENCODER,
    /** Generative decoder: carries a KV cache (past/present tensors) from step to step. */
    DECODER,
    /** Any other graph (CNN, sequence ops): cut at its thinnest places. */
    GRAPH
}
