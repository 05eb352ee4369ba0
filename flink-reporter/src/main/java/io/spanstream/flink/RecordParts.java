package io.spanstream.flink;

import java.util.Map;

/**
 * What every record of the contract takes from its reporter: new random ids, and the Flink
 * attributes as the contract's values, each within the {@code span.max.*} limits.
 *
 * @param ids the source of new trace, span and event ids
 * @param limits the {@code span.max.*} limits (an event's attributes and body are held to them too)
 * @param counters where attributes left out are counted
 */
record RecordParts(Ids ids, SpanLimits limits, Counters counters) {

  /** The attributes the contract can carry (those left out counted), each checked. */
  Map<String, Object> attributes(Map<String, Object> flinkAttributes) throws SpanLimits.Exceeded {
    Map<String, Object> attributes = AttributeValues.convert(flinkAttributes, counters);
    for (Map.Entry<String, Object> entry : attributes.entrySet()) {
      limits.checkValue(entry.getKey(), entry.getValue());
    }
    return attributes;
  }
}
