package dev.momstream.kafka.settings;

import java.io.StringWriter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.Appender;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.WriterAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.layout.PatternLayout;

/** Everything logged at any level to any logger while it is open. */
final class LogCapture implements AutoCloseable {

    private final StringWriter out = new StringWriter();
    private final LoggerContext context = (LoggerContext) LogManager.getContext(false);
    private final WriterAppender appender;
    private final Map<String, Level> previousLevels = new HashMap<>();
    private final Map<String, Appender> hidden = new HashMap<>();

    LogCapture() {
        Configuration config = context.getConfiguration();
        appender = WriterAppender.createAppender(
                PatternLayout.newBuilder().withPattern("%p %c %m %ex%n").withConfiguration(config).build(),
                null, out, "capture-" + System.nanoTime(), false, true);
        appender.start();
        // While capturing, the console appenders are detached so that TRACE output does not flood them.
        hidden.putAll(config.getRootLogger().getAppenders());
        hidden.keySet().forEach(config.getRootLogger()::removeAppender);
        config.getRootLogger().addAppender(appender, Level.ALL, null);
        // Every logger at every level: a secret logged at DEBUG by any library must show up here.
        for (LoggerConfig logger : allLoggers(config)) {
            previousLevels.put(logger.getName(), logger.getLevel());
            logger.setLevel(Level.ALL);
        }
        context.updateLoggers();
    }

    private static List<LoggerConfig> allLoggers(Configuration config) {
        List<LoggerConfig> loggers = new ArrayList<>(config.getLoggers().values());
        if (!loggers.contains(config.getRootLogger())) {
            loggers.add(config.getRootLogger());
        }
        return loggers;
    }

    String text() {
        return out.toString();
    }

    @Override
    public void close() {
        Configuration config = context.getConfiguration();
        config.getRootLogger().removeAppender(appender.getName());
        hidden.values().forEach(a -> config.getRootLogger().addAppender(a, null, null));
        for (LoggerConfig logger : allLoggers(config)) {
            logger.setLevel(previousLevels.get(logger.getName()));
        }
        context.updateLoggers();
        appender.stop();
    }
}
