package dev.momstream.operators.infer;

import dev.momstream.kafka.records.DecodeResult;
import dev.momstream.kafka.records.DocumentDecoder;
import dev.momstream.kafka.records.InferRequest;
import dev.momstream.kafka.records.InferResponse;
import dev.momstream.kafka.records.RecordJson;
import dev.momstream.kafka.records.RecordOrigin;
import dev.momstream.trainer.data.Gpt2Tokenizer;
import dev.momstream.trainer.onnx.Sampling;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Turns a record into a {@link Request}, or into the error response it gets: unreadable JSON,
 * no text, an unknown type, a record or text that is too long, sampling settings out of range.
 * Every refusal names its reason, and nothing else is disturbed.
 */
public final class RequestParser {

    /** A request to compute, or the answer to a bad one. */
    public sealed interface Parsed {
    }

    /** A request to compute. */
    public record Accepted(Request request) implements Parsed {
    }

    /** A bad request and its error response. */
    public record Refused(InferResponse response) implements Parsed {
    }

    private final ServeOptions options;
    private final DocumentDecoder documents;
    private final SplittableRandom seeds = new SplittableRandom();

    public RequestParser(ServeOptions options) {
        this.options = options;
        this.documents = new DocumentDecoder(options.maxRequestBytes(), 256);
    }

    /**
     * A request record of {@code infer.requests}. Its id is the JSON's {@code id}, else the record
     * key, else its position, so that even an unreadable request gets an answer its sender can find.
     */
    public Parsed request(RecordOrigin origin, byte[] value, long arrivedNanos) {
        String fallbackId = origin.key() != null && !origin.key().isEmpty() ? origin.key() : key(origin);
        if (value == null || value.length == 0) {
            return refuse(fallbackId, null, "empty request");
        }
        if (value.length > options.maxRequestBytes()) {
            return refuse(fallbackId, null, "the request has " + value.length + " bytes, more than the limit of "
                    + options.maxRequestBytes());
        }
        InferRequest r;
        try {
            r = RecordJson.fromJson(value, InferRequest.class);
        } catch (RuntimeException e) {
            return refuse(fallbackId, null, "not a valid request: " + e.getMessage()
                    + " (expected JSON such as {\"id\":\"1\",\"type\":\"score\",\"text\":\"...\"})");
        }
        if (r == null) {
            return refuse(fallbackId, null, "not a valid request: null");
        }
        String id = r.id() != null && !r.id().isBlank() ? r.id() : fallbackId;
        if (r.type() == null || !(r.type().equals(InferRequest.SCORE) || r.type().equals(InferRequest.GENERATE))) {
            return refuse(id, r.type(), "unknown request type " + (r.type() == null ? "(none)" : "'" + r.type() + "'")
                    + ": expected " + InferRequest.SCORE + " or " + InferRequest.GENERATE);
        }
        if (r.text() == null) {
            return refuse(id, r.type(), "the request has no text");
        }
        int[] tokens = Gpt2Tokenizer.encode(r.text());
        if (r.type().equals(InferRequest.SCORE)) {
            return score(origin, id, tokens, arrivedNanos);
        }
        List<String> problems = new ArrayList<>();
        int maxNew = r.maxNewTokens() == null ? InferRequest.DEFAULT_MAX_NEW_TOKENS : r.maxNewTokens();
        if (maxNew < 0 || maxNew > options.maxNewTokens()) {
            problems.add("maxNewTokens=" + maxNew + " must be between 0 and " + options.maxNewTokens());
        }
        long seed = r.seed() != null ? r.seed() : seeds.nextLong();
        Sampling sampling = null;
        try {
            sampling = new Sampling(Boolean.TRUE.equals(r.greedy()) ? 0
                    : r.temperature() == null ? InferRequest.DEFAULT_TEMPERATURE : r.temperature(),
                    r.topK() == null ? InferRequest.DEFAULT_TOP_K : r.topK(),
                    r.topP() == null ? InferRequest.DEFAULT_TOP_P : r.topP(), seed);
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
        }
        if (!problems.isEmpty()) {
            return refuse(id, r.type(), String.join("; ", problems));
        }
        int[] prompt = tokens.length == 0 ? new int[] {Gpt2Tokenizer.END_OF_TEXT} : tokens;
        return new Accepted(new Request(key(origin), id, InferRequest.GENERATE, prompt, maxNew, sampling, arrivedNanos));
    }

    /**
     * A document of a scored input topic (JSON document or plain text, as the pretraining job
     * reads them), as a score request whose id is the document's id, else its position.
     */
    public Parsed document(RecordOrigin origin, byte[] value, long arrivedNanos) {
        String position = key(origin);
        DecodeResult decoded = documents.decode(value, origin);
        if (decoded instanceof DecodeResult.Rejected rejected) {
            return refuse(position, InferRequest.SCORE, rejected.reason() + ": " + rejected.deadLetter().detail());
        }
        var doc = ((DecodeResult.Accepted) decoded).document();
        String id = doc.id() == null || doc.id().isBlank() ? position : doc.id();
        return score(origin, id, Gpt2Tokenizer.encode(doc.text()), arrivedNanos);
    }

    private Parsed score(RecordOrigin origin, String id, int[] tokens, long arrivedNanos) {
        if (tokens.length < 2) {
            return refuse(id, InferRequest.SCORE, "the text has " + tokens.length + " token(s); scoring needs at least 2");
        }
        if (tokens.length > options.maxScoreTokens()) {
            return refuse(id, InferRequest.SCORE, "the text is too long: " + tokens.length + " tokens, more than the limit of "
                    + options.maxScoreTokens());
        }
        return new Accepted(new Request(key(origin), id, InferRequest.SCORE, tokens, 0, null, arrivedNanos));
    }

    /** A record's position, {@code topic/partition/offset}. */
    public static String key(RecordOrigin origin) {
        return origin.topic() + "/" + origin.partition() + "/" + origin.offset();
    }

    private static Refused refuse(String id, String type, String reason) {
        return new Refused(InferResponse.error(id, type, reason, null, null));
    }
}
