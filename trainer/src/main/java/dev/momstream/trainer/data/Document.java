package dev.momstream.trainer.data;

/** A unit of training text. */
public record Document(String id, String text) {}
