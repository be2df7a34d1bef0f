import ArgoCDLink
import Foundation
import Prometheus

extension ServerMetrics: ArgoCDMetrics {
    /// `manifestor_argocd_notifications_total{kind, result}`: webhook deliveries and refreshes,
    /// `delivered` or `failed` (after their retries).
    public func notification(kind: String, delivered: Bool) {
        registry.makeCounter(name: "manifestor_argocd_notifications_total", labels: [("kind", kind), ("result", delivered ? "delivered" : "failed")],
                             help: "Notifications sent to Argo CD after landed pushes (the ApplicationSet webhook, Application refreshes), by kind and result.")
            .increment()
    }

    /// `manifestor_argocd_status_reads_total{result}`: reads of an Application's status.
    public func statusRead(answered: Bool) {
        registry.makeCounter(name: "manifestor_argocd_status_reads_total", labels: [("result", answered ? "answered" : "failed")],
                             help: "Reads of an Argo CD Application's status, by whether Argo CD answered.")
            .increment()
    }

    /// Both families at zero, so that dashboards and alerts see them before the first event.
    func prepareArgoCDSeries() {
        for kind in ["webhook", "refresh"] {
            for result in ["delivered", "failed"] {
                registry.makeCounter(name: "manifestor_argocd_notifications_total", labels: [("kind", kind), ("result", result)],
                                     help: "Notifications sent to Argo CD after landed pushes (the ApplicationSet webhook, Application refreshes), by kind and result.")
            }
        }
        for result in ["answered", "failed"] {
            registry.makeCounter(name: "manifestor_argocd_status_reads_total", labels: [("result", result)],
                                 help: "Reads of an Argo CD Application's status, by whether Argo CD answered.")
        }
    }
}
