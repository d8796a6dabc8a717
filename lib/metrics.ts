/**
 * Counters and gauges for `/metrics`, in Prometheus' text format. Kept in
 * memory per instance; Prometheus sums instances itself.
 *
 * @module
 */

type Labels = Record<string, string>;

interface Series {
  help: string;
  type: "counter" | "gauge";
  values: Map<string, number>;
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) =>
    `${k}="${
      v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")
    }"`
  );
  return parts.length ? `{${parts.join(",")}}` : "";
}

/** A small registry of counters and gauges. */
export class Metrics {
  #series = new Map<string, Series>();
  #gauges = new Map<string, () => number>();

  /** Adds `by` to a counter. */
  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    let series = this.#series.get(name);
    if (!series) {
      series = { help, type: "counter", values: new Map() };
      this.#series.set(name, series);
    }
    const key = labelText(labels);
    series.values.set(key, (series.values.get(key) ?? 0) + by);
  }

  /** Registers a gauge read when /metrics is scraped. */
  gauge(name: string, help: string, read: () => number): void {
    this.#series.set(name, { help, type: "gauge", values: new Map() });
    this.#gauges.set(name, read);
  }

  /** The current value of a counter (tests and diagnostics). */
  value(name: string, labels: Labels = {}): number {
    return this.#series.get(name)?.values.get(labelText(labels)) ?? 0;
  }

  /** Everything, in Prometheus' text exposition format. */
  render(): string {
    const lines: string[] = [];
    for (const [name, series] of this.#series) {
      lines.push(
        `# HELP ${name} ${series.help}`,
        `# TYPE ${name} ${series.type}`,
      );
      const read = this.#gauges.get(name);
      if (read) {
        lines.push(`${name} ${read()}`);
        continue;
      }
      for (const [labels, value] of series.values) {
        lines.push(`${name}${labels} ${value}`);
      }
    }
    return lines.join("\n") + "\n";
  }
}
