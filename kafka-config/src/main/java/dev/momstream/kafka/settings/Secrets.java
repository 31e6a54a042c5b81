package dev.momstream.kafka.settings;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/** Decides which configuration values are secret and masks them for display. */
public final class Secrets {

    /** What a secret value is replaced with wherever settings are shown. */
    public static final String MASK = "******";

    // Over-masking is harmless while a leaked credential is not, so any key that merely looks
    // secret is masked: this catches sasl.jaas.config, ssl.key.password, ssl.keystore.key,
    // OAuth client secrets and whatever a future client version adds under similar names.
    private static final String[] SECRET_MARKERS = {"password", "secret", "jaas", "key", "token", "credential"};

    private Secrets() {
    }

    /** Whether the value of {@code key} must never be shown. */
    public static boolean isSecret(String key) {
        String lower = key.toLowerCase(Locale.ROOT);
        for (String marker : SECRET_MARKERS) {
            if (lower.contains(marker)) {
                return true;
            }
        }
        return false;
    }

    /** A sorted copy of {@code values} in which every secret value is replaced by {@link #MASK}. */
    public static Map<String, String> masked(Map<String, String> values) {
        Map<String, String> out = new TreeMap<>();
        values.forEach((k, v) -> out.put(k, isSecret(k) ? MASK : v));
        return out;
    }
}
