// A table's figures over the last minutes, on its page: CloudWatch's AWS/DynamoDB metrics of this
// server (docs/monitoring.md), read with the CloudWatch API as a dashboard on AWS reads them:
// ListMetrics finds the table's series, one GetMetricData fetches them by the minute.
import { call } from "../api.js";
import { h, replace, status } from "../dom.js";
import { chart } from "./charts.js";

const MINUTES = 15;
const REFRESH_MS = 10000;
// [CloudWatch metric, title, unit]: Sums added up over the table's operations (and streams);
// latency is averaged over all its calls
const FIGURES = [
  ["ConsumedReadCapacityUnits", "Consumed read capacity", "units"],
  ["ConsumedWriteCapacityUnits", "Consumed write capacity", "units"],
  ["ThrottledRequests", "Throttled requests", "requests"],
  ["ReturnedItemCount", "Items returned by Query and Scan", "items"],
  ["ReturnedRecordsCount", "Stream records returned by GetRecords", "records"],
  ["SuccessfulRequestLatency", "Request latency (average)", "ms"],
];

function queriesFor(metrics) {
  const queries = [];
  metrics.forEach((metric, i) => {
    const stats = metric.MetricName === "SuccessfulRequestLatency" ? ["Sum", "SampleCount"] : ["Sum"];
    for (const stat of stats) {
      queries.push({ Id: `m${i}_${stat.toLowerCase()}`, MetricStat: { Metric: metric, Period: 60, Stat: stat } });
    }
  });
  return queries;
}

// Per figure and minute: the sum over its series of one statistic
function perMinute(results, metrics, start, stat) {
  const sums = Object.fromEntries(FIGURES.map(([name]) => [name, new Array(MINUTES).fill(0)]));
  for (const result of results) {
    const [index, which] = result.Id.slice(1).split("_");
    if (which !== stat) continue;
    const series = sums[metrics[Number(index)].MetricName];
    result.Timestamps.forEach((t, j) => {
      const slot = Math.floor((t - start) / 60);
      if (series && slot >= 0 && slot < MINUTES) series[slot] += result.Values[j];
    });
  }
  return sums;
}

async function load(name) {
  const { Metrics: found } = await call("cloudwatch", "ListMetrics", {
    Namespace: "AWS/DynamoDB", Dimensions: [{ Name: "TableName", Value: name }] });
  // the table's own series: a GSI's consumed capacity is its own (and on the index's page on AWS)
  const metrics = (found || []).filter((m) => !m.Dimensions.some((d) => d.Name === "GlobalSecondaryIndexName"));
  const end = Math.ceil(Date.now() / 60000) * 60;
  const start = end - MINUTES * 60;
  if (!metrics.length) return { sums: perMinute([], [], start, "sum"), counts: perMinute([], [], start, "samplecount") };
  const { MetricDataResults: results } = await call("cloudwatch", "GetMetricData", {
    MetricDataQueries: queriesFor(metrics), StartTime: start, EndTime: end, ScanBy: "TimestampAscending" });
  return { sums: perMinute(results, metrics, start, "sum"), counts: perMinute(results, metrics, start, "samplecount") };
}

function figure([metric, title, unit], { sums, counts }) {
  const total = (values) => values.reduce((a, b) => a + b, 0);
  if (metric === "SuccessfulRequestLatency") {
    const averages = sums[metric].map((s, i) => (counts[metric][i] ? s / counts[metric][i] : 0));
    const calls = total(counts[metric]);
    const average = calls ? total(sums[metric]) / calls : 0;
    return chart(title, unit, averages, { slots: MINUTES,
      caption: `${average.toFixed(2)} ms over ${calls} call${calls === 1 ? "" : "s"} in the last ${MINUTES} minutes` });
  }
  const values = sums[metric];
  const sum = Math.round(total(values) * 100) / 100;
  const units = sum === 1 ? unit.replace(/s$/, "") : unit;
  return chart(title, unit, values, { slots: MINUTES, caption: `${sum} ${units} in the last ${MINUTES} minutes` });
}

// The section, filled now and every few seconds until `stop()` (the page is left)
export function tableMetrics(name) {
  const line = status();
  const grid = h("div", { class: "charts" });
  const section = h("section", { "aria-labelledby": "table-metrics" },
    h("h2", { id: "table-metrics" }, "Metrics"),
    h("p", { class: "muted" }, `CloudWatch's metrics of this table by the minute, the last ${MINUTES} minutes (AWS/DynamoDB, from this server's CloudWatch API).`),
    line, grid);
  const refresh = async () => {
    try {
      const figures = await load(name);
      replace(grid, FIGURES.map((f) => figure(f, figures)));
      line.show(`Updated ${new Date().toLocaleTimeString()}`);
    } catch (e) {
      line.error(e);
    }
  };
  refresh();
  const timer = setInterval(refresh, REFRESH_MS);
  return { section, stop: () => clearInterval(timer) };
}
