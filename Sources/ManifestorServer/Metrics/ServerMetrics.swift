import Foundation
import GitOps
import Hummingbird
import KubeModel
import Prometheus
import Templates

/// The server's Prometheus registry: its own, so several servers can live in one process.
public final class ServerMetrics: CommitterMetrics, @unchecked Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let commits: Counter
    private let pushes: Counter
    private let pushRetries: Counter
    private let fetches: Counter
    private let confirmations: Counter
    private let renders: Counter
    private let rendersLock = NSLock()
    private var rendersReported = 0
    private let batchSizes: ValueHistogram
    private let pushSeconds: ValueHistogram
    private let fetchSeconds: ValueHistogram
    private let packingSeconds: ValueHistogram
    private let failures: [FailureKind: Counter]
    private let queueDepth: Gauge
    let livePreviewsGauge: Gauge

    public init(build: BuildInfo = .current()) {
        commits = registry.makeCounter(name: "manifestor_commits_total", help: "Commits pushed, one per operation that changed something.")
        pushes = registry.makeCounter(name: "manifestor_pushes_total", help: "Pushes attempted, one per batch and retry.")
        pushRetries = registry.makeCounter(name: "manifestor_push_retries_total", help: "Pushes the remote refused, each followed by a fetch and a re-run.")
        fetches = registry.makeCounter(name: "manifestor_fetches_total", help: "Fetches from the remote.")
        confirmations = registry.makeCounter(name: "manifestor_tip_confirmations_total",
                                             help: "Reads of the remote's tip (one round trip) that confirmed answers which pushed nothing.")
        renders = registry.makeCounter(name: "manifestor_renders_total", help: "Environments rendered (previews, staging, production) by this process.")
        batchSizes = registry.makeValueHistogram(name: "manifestor_batch_size", buckets: [1, 2, 5, 10, 20, 50, 100, 200],
                                                 help: "Operations per batch.")
        livePreviewsGauge = registry.makeGauge(name: "manifestor_live_previews", help: "Preview directories at the tip, after each landed commit and fetch.")
        let gitBuckets: [Double] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
        pushSeconds = registry.makeValueHistogram(name: "manifestor_push_duration_seconds", buckets: gitBuckets,
                                                     help: "Time from starting a push to the remote's answer (landed or refused).")
        fetchSeconds = registry.makeValueHistogram(name: "manifestor_fetch_duration_seconds", buckets: gitBuckets,
                                                      help: "Time one fetch from the remote took.")
        packingSeconds = registry.makeValueHistogram(name: "manifestor_cache_packing_duration_seconds", buckets: gitBuckets,
                                                        help: "Time the git thread spent on one packing of the cache (loose objects into a pack, packs merged).")
        var failures: [FailureKind: Counter] = [:]
        for kind in FailureKind.allCases {
            failures[kind] = registry.makeCounter(name: "manifestor_operation_failures_total", labels: [("kind", kind.label)],
                                                  help: "Operations the committer answered with an error, by failure kind.")
        }
        self.failures = failures
        queueDepth = registry.makeGauge(name: "manifestor_queue_depth", help: "Operations queued for the committer and not yet taken into a batch.")
        registry.makeGauge(name: "manifestor_build_info", labels: [("version", build.version), ("commit", build.commit), ("libgit2", build.libgit2)],
                           help: "Always 1; the labels say which build is running.").set(Double(1))
    }

    public func pushDuration(seconds: Double) { pushSeconds.record(seconds) }
    public func fetchDuration(seconds: Double) { fetchSeconds.record(seconds) }
    public func failed(kind: FailureKind, count: Int) { failures[kind]?.increment(by: Int64(count)) }
    public func livePreviews(_ count: Int) { livePreviewsGauge.set(Double(count)) }
    public func cachePacked(looseObjects: Int, mergedPacks: Int, seconds: Double) { packingSeconds.record(seconds) }
    /// Set just before each scrape, from the committer's queue.
    public func queueDepth(_ count: Int) { queueDepth.set(Double(count)) }

    public func batch(size: Int) { batchSizes.record(Double(size)) }
    public func pushed() { pushes.increment() }
    public func pushRefused() { pushRetries.increment() }
    public func committed(_ count: Int) { commits.increment(by: Int64(count)) }
    public func fetched() { fetches.increment() }
    public func confirmed() { confirmations.increment() }

    func requestFinished(route: String, method: String, status: Int, seconds: Double) {
        let labels = [("route", route), ("method", method), ("status", String(status))]
        registry.makeCounter(name: "manifestor_http_requests_total", labels: labels, help: "HTTP requests by route, method and status.").increment()
        registry.makeValueHistogram(name: "manifestor_http_request_duration_seconds", labels: labels,
                                    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
                                    help: "HTTP request latency by route, method and status.").record(seconds)
    }

    public func render() -> String {
        rendersLock.withLock {
            let now = RenderCounter.shared.value
            renders.increment(by: Int64(now - rendersReported))
            rendersReported = now
        }
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}

/// Counts requests and their latency per route and status.
struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = ManifestorContext
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        func seconds() -> Double {
            let d = ContinuousClock.now - start
            return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        }
        do {
            let response = try await next(request, context)
            metrics.requestFinished(route: context.endpointPath ?? "unknown", method: request.method.rawValue, status: response.status.code, seconds: seconds())
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.requestFinished(route: context.endpointPath ?? "unknown", method: request.method.rawValue, status: status, seconds: seconds())
            throw error
        }
    }
}
