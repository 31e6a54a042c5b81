package dev.momstream.trainer.config;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Options out of range, every problem at once. Each problem names its value by the field that
 * holds it, so that a library caller reads {@code invalid job options: failedCheckpointsToStop=0
 * must be at least 1}, while a command line names the option its user typed instead
 * ({@link #describe}).
 */
public final class InvalidOptionsException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    /** One value out of range: {@code field=value rule}. */
    public record Problem(String field, Object value, String rule) {
        @Override
        public String toString() {
            return field + "=" + value + " " + rule;
        }
    }

    /** Collects the problems of one set of options; {@link #check} throws if there are any. */
    public static final class Problems {
        private final List<Problem> problems = new ArrayList<>();

        public void add(String field, Object value, String rule) {
            problems.add(new Problem(field, value, rule));
        }

        public void atLeast(String field, long value, long least) {
            if (value < least) {
                add(field, value, least == 0 ? "must not be negative" : "must be at least " + least);
            }
        }

        /** Throws an {@link InvalidOptionsException} naming every problem of the {@code what}, if any. */
        public void check(String what) {
            if (!problems.isEmpty()) {
                throw new InvalidOptionsException(what, problems);
            }
        }
    }

    private final transient List<Problem> problems;

    private InvalidOptionsException(String what, List<Problem> problems) {
        super("invalid " + what + ": " + problems.stream().map(Problem::toString).collect(Collectors.joining("; ")));
        this.problems = List.copyOf(problems);
    }

    public List<Problem> problems() {
        return problems;
    }

    /** Every problem, each as {@code naming} writes it. */
    public String describe(Function<Problem, String> naming) {
        return problems.stream().map(naming).collect(Collectors.joining("; "));
    }
}
