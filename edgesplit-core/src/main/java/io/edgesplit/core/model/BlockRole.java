package io.edgesplit.core.model;

/** The part of a model a block stands for. */
public enum BlockRole {
    EMBEDDINGS,
    LAYER,
    HEAD,
    /** A block of a graph without layer structure. */
    SEGMENT
}
