package dev.momstream.operators.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.kafka.records.InferRequest;
import dev.momstream.kafka.records.InferResponse;
import dev.momstream.kafka.records.ModelEvent;
import dev.momstream.kafka.records.RecordJson;
import dev.momstream.kafka.records.ServingEvent;
import dev.momstream.operators.records.RawRecord;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.runtime.tasks.mailbox.Mail;
import org.apache.flink.streaming.runtime.tasks.mailbox.TaskMailbox;
import org.apache.flink.streaming.util.TwoInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The inference operator in Flink's operator test harness with real exports: bad requests are
 * answered at once, servable events swap versions in, and a restore answers every request that
 * was read but not yet answered at the checkpoint.
 */
class InferOperatorTest {

    private static final String TEXT = "Fellow citizens of the Senate and of the House of Representatives";

    @TempDir
    Path dir;

    private long offset;

    private TwoInputStreamOperatorTestHarness<RawRecord, ModelEvent, InferResponse> harness(InferSpec spec)
            throws Exception {
        InferOperator operator = new InferOperator(spec);
        var h = new TwoInputStreamOperatorTestHarness<>(operator);
        h.setup();
        operator.setMailboxExecutor(operator.getContainingTask().getMailboxExecutorFactory().createExecutor(0));
        return h;
    }

    private static InferSpec spec(ServableModel initial, Duration maxDelay) {
        return new InferSpec(true, "run", initial, ServeOptions.defaults().toBuilder().batching(8, maxDelay).build(), false);
    }

    private RawRecord request(String id, String json) {
        return new RawRecord("infer.requests", 0, offset++, id.getBytes(StandardCharsets.UTF_8),
                json.getBytes(StandardCharsets.UTF_8), 0);
    }

    private RawRecord score(String id) {
        return request(id, RecordJson.toJson(InferRequest.score(id, TEXT)));
    }

    private static ModelEvent announced(ServableModel m, String runId) {
        return new ModelEvent(runId, m.version(), m.step(), 0, "ckpt", "card", "hash", null, 0)
                .withOnnx(m.path(), m.checksum());
    }

    /** Runs mails (where responses are emitted) until {@code done}. */
    private static void runMailsUntil(TwoInputStreamOperatorTestHarness<?, ?, ?> h, BooleanSupplier done, String what)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (!done.getAsBoolean()) {
            Optional<Mail> mail = h.getTaskMailbox().tryTake(TaskMailbox.MIN_PRIORITY);
            if (mail.isPresent()) {
                mail.get().run();
            } else if (System.nanoTime() > deadline) {
                throw new AssertionError("waited 2 minutes for " + what);
            } else {
                Thread.sleep(10);
            }
        }
    }

    private static List<InferResponse> responses(TwoInputStreamOperatorTestHarness<?, ?, InferResponse> h) {
        return h.extractOutputValues();
    }

    private static List<ServingEvent> events(TwoInputStreamOperatorTestHarness<?, ?, ?> h) {
        var queue = h.getSideOutput(InferOperator.EVENTS);
        return queue == null ? List.of() : queue.stream().map(StreamRecord::getValue).toList();
    }

    @Test
    void requestsReadButNotAnsweredAtACheckpointAreAnsweredAfterTheRestore() throws Exception {
        ServableModel v1 = Servables.export(dir, 1);
        OperatorSubtaskState checkpoint;
        try (var h = harness(spec(v1, Duration.ofMinutes(5)))) { // batches that wait: nothing answered
            h.open();
            h.processElement1(new StreamRecord<>(request("broken", "{\"id\":")));
            h.processElement1(new StreamRecord<>(request("odd", "{\"id\":\"odd\",\"type\":\"translate\",\"text\":\"x\"}")));
            for (int i = 0; i < 3; i++) {
                h.processElement1(new StreamRecord<>(score("q" + i)));
            }
            assertEquals(List.of("broken", "odd"), responses(h).stream().map(InferResponse::id).toList());
            assertTrue(responses(h).get(0).error().startsWith("not a valid request"), responses(h).get(0).error());
            assertTrue(responses(h).get(1).error().contains("unknown request type 'translate'"), responses(h).get(1).error());
            checkpoint = h.snapshot(1, 1);
        }
        try (var h = harness(spec(null, Duration.ofMillis(5)))) {
            h.initializeState(checkpoint);
            h.open();
            runMailsUntil(h, () -> responses(h).size() == 3, "the 3 restored requests");
            assertEquals(List.of("q0", "q1", "q2"), responses(h).stream().map(InferResponse::id).sorted().toList());
            assertTrue(responses(h).stream().allMatch(r -> r.ok() && r.version() == 1L), responses(h).toString());
            assertEquals(ServingEvent.SWAPPED, events(h).get(0).type(), "the restored state names the version served");
        }
    }

    @Test
    void servableEventsOfItsRunSwapVersionsInAndOthersAreIgnored() throws Exception {
        ServableModel v1 = Servables.export(dir, 1);
        ServableModel v2 = Servables.export(dir, 2);
        ServableModel v3 = Servables.export(dir, 3);
        try (var h = harness(spec(v1, Duration.ofMillis(5)))) {
            h.open();
            runMailsUntil(h, () -> events(h).size() == 1, "v1 to load");
            h.processElement2(new StreamRecord<>(announced(v3, "another-run")));
            h.processElement2(new StreamRecord<>(new ModelEvent("run", 3, 30, 0, "c", "l", "h", null, 0)
                    .withOnnxError("checkpoint gone")));
            h.processElement2(new StreamRecord<>(announced(v2, "run")));
            runMailsUntil(h, () -> events(h).size() == 2, "v2 to load");
            h.processElement1(new StreamRecord<>(score("after-swap")));
            runMailsUntil(h, () -> responses(h).size() == 1, "a response");
            assertEquals(2L, responses(h).get(0).version());
            ServingEvent swap = events(h).get(1);
            assertEquals(ServingEvent.SWAPPED, swap.type());
            assertEquals(2L, swap.version());
            assertEquals(1L, swap.previousVersion());
            assertEquals(v2.path(), swap.model());
            assertTrue(swap.loadMillis() > 0);
        }
    }
}
