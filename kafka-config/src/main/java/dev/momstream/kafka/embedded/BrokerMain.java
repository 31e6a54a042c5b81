package dev.momstream.kafka.embedded;

import java.io.IOException;
import java.io.InputStream;

/**
 * Entry point of the embedded broker's child JVM: runs {@code kafka.Kafka} with the given
 * arguments and exits when the parent JVM is gone.
 *
 * <p>The parent keeps the write end of this JVM's standard input open and never writes to it, so
 * end-of-input means the parent died, even by {@code kill -9}, where no shutdown hook of the
 * parent runs. {@link System#exit} then runs Kafka's own shutdown hook: a clean stop, no orphan.
 */
public final class BrokerMain {

    private BrokerMain() {
    }

    public static void main(String[] args) throws ReflectiveOperationException {
        Thread watchdog = new Thread(() -> exitAtEndOf(System.in), "parent-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
        // Reflection keeps kafka_2.13 off this module's compile class path.
        Class.forName("kafka.Kafka").getMethod("main", String[].class).invoke(null, (Object) args);
    }

    private static void exitAtEndOf(InputStream parentPipe) {
        try {
            while (parentPipe.read() != -1) {
                // The parent never writes; read only to notice the end of input.
            }
        } catch (IOException e) {
            // A broken pipe means the same as end of input.
        }
        System.exit(0);
    }
}
