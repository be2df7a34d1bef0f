import Foundation
import KubeModel

/// Where objects are rendered: it stamps names, namespace and the recommended labels.
struct Scope {
    let environment: EnvironmentName
    let namespace: String
    let taskID: String?
    /// Set for previews: the project whose services they run.
    var project: String? = nil

    func labels(component: String) -> [String: String] {
        var l = [
            "app.kubernetes.io/name": component,
            "app.kubernetes.io/instance": namespace,
            "app.kubernetes.io/part-of": Renderer.partOf,
            "app.kubernetes.io/managed-by": Renderer.managedBy,
            "aiworker.dev/environment": environment.rawValue,
        ]
        if let taskID { l[Renderer.taskIDLabel] = taskID }
        if let project { l[Renderer.projectLabel] = project }
        return l
    }

    func selector(_ service: String) -> [String: String] {
        ["app.kubernetes.io/name": service, "app.kubernetes.io/instance": namespace]
    }

    func meta(_ name: String, component: String, namespaced: Bool = true, annotations: [String: String] = [:]) -> ObjectMeta {
        ObjectMeta(name: name, namespace: namespaced ? namespace : nil, labels: labels(component: component), annotations: annotations)
    }
}

extension Renderer {
    /// ServiceAccount, ConfigMap, Deployment and Service of one catalog service.
    func workload(_ service: ServiceSpec, scope: Scope, image: ImageReference, imageTag: String?, replicas: Int) -> [AnyKubeObject] {
        let overrides: ServiceSpec.Overrides? = switch scope.environment {
        case .preview: service.environments?.preview
        case .staging: service.environments?.staging
        case .production: service.environments?.production
        }
        let env = (service.env ?? [:]).merging(overrides?.env ?? [:]) { $1 }
        let secretEnv = (service.secretEnv ?? [:]).merging(overrides?.secretEnv ?? [:]) { $1 }
        let resources = overrides?.resources ?? service.resources
        let name = service.name
        var objects: [AnyKubeObject] = []

        objects.append(AnyKubeObject(ServiceAccount(metadata: scope.meta(name, component: name), automountServiceAccountToken: false)))
        let configName = "\(name)-env"
        if !env.isEmpty {
            objects.append(AnyKubeObject(ConfigMap(metadata: scope.meta(configName, component: name), data: env)))
        }

        var container = Container(name: name, image: image.pinned)
        container.ports = [ContainerPort(name: "http", containerPort: service.port)]
        if !env.isEmpty { container.envFrom = [EnvFromSource(.configMap(configName))] }
        container.env = secretEnv.sorted { $0.key < $1.key }.map {
            EnvVar(name: $0.key, source: .secretKeyRef(KeySelector(name: $0.value.secret, key: $0.value.key)))
        }
        if let resources {
            container.resources = ResourceRequirements(limits: (resources.limits ?? [:]).compactMapValues(Quantity.init),
                                                       requests: (resources.requests ?? [:]).compactMapValues(Quantity.init))
        }
        if let health = service.healthPath {
            let get = HTTPGetAction(path: health, port: .string("http"))
            container.readinessProbe = Probe(httpGet: get, initialDelaySeconds: 2, timeoutSeconds: 2, periodSeconds: 5, failureThreshold: 3)
            container.livenessProbe = Probe(httpGet: get, initialDelaySeconds: 10, timeoutSeconds: 2, periodSeconds: 10, failureThreshold: 6)
        }
        let readOnly = service.readOnlyRootFilesystem ?? true
        let volumes = (service.writablePaths ?? []).enumerated().map { (index, path) in (Volume(name: "writable-\(index)"), VolumeMount(name: "writable-\(index)", mountPath: path)) }
        container.volumeMounts = volumes.map(\.1)
        container.imagePullPolicy = "IfNotPresent"
        container.securityContext = SecurityContext(
            capabilitiesDrop: service.runAsUser != nil ? ["ALL"] : [],
            runAsUser: service.runAsUser, runAsNonRoot: service.runAsUser != nil ? true : nil,
            readOnlyRootFilesystem: readOnly, allowPrivilegeEscalation: false, seccompProfile: .runtimeDefault)

        var pod = PodSpec(containers: [container])
        pod.volumes = volumes.map(\.0)
        pod.serviceAccountName = name
        pod.automountServiceAccountToken = false
        pod.terminationGracePeriodSeconds = 30
        var podAnnotations: [String: String] = [:]
        if !env.isEmpty { podAnnotations["aiworker.dev/config-hash"] = Self.stableHash(env) }
        var deploymentAnnotations: [String: String] = [:]
        if let imageTag { deploymentAnnotations[Self.imageTagAnnotation] = imageTag }
        objects.append(AnyKubeObject(Deployment(
            metadata: scope.meta(name, component: name, annotations: deploymentAnnotations),
            replicas: replicas,
            selector: LabelSelector(matchLabels: scope.selector(name)),
            template: PodTemplateSpec(labels: scope.labels(component: name), annotations: podAnnotations, spec: pod),
            strategy: DeploymentStrategy(maxSurge: .int(1), maxUnavailable: .int(0)),
            revisionHistoryLimit: 3
        )))
        objects.append(AnyKubeObject(Service(
            metadata: scope.meta(name, component: name),
            ports: [ServicePort(name: "http", port: service.port, targetPort: .string("http"))],
            selector: scope.selector(name)
        )))
        return objects
    }

    /// Admits traffic only from the ingress controller and from inside the preview; lets it
    /// reach DNS, itself and the preview data services, and nothing else.
    func previewNetworkPolicy(_ scope: Scope) -> NetworkPolicy {
        let settings = catalog.environments
        let samePreview = NetworkPolicyPeer(podSelector: LabelSelector(matchLabels: [:]))
        var egress = [
            NetworkPolicyRule(peers: [samePreview]),
            NetworkPolicyRule(peers: [.namespace("kube-system")], ports: [
                NetworkPolicyPort(protocol: "UDP", port: .int(53)), NetworkPolicyPort(protocol: "TCP", port: .int(53)),
            ]),
        ]
        if !settings.preview.egressNamespaces.isEmpty {
            egress.append(NetworkPolicyRule(peers: settings.preview.egressNamespaces.map(NetworkPolicyPeer.namespace)))
        }
        return NetworkPolicy(
            metadata: scope.meta("preview-isolation", component: "preview"),
            podSelector: LabelSelector(matchLabels: [:]),
            ingress: [NetworkPolicyRule(peers: [.namespace(settings.ingress.controllerNamespace), samePreview])],
            egress: egress,
            policyTypes: ["Ingress", "Egress"]
        )
    }

    /// An Argo CD PostSync hook that checks every service's health path once the sync is done.
    func smokeTest(_ scope: Scope) -> Job {
        let checks = catalog.services.compactMap { s in
            s.healthPath.map { "curl -fsS --retry 12 --retry-delay 5 --retry-all-errors --max-time 10 -o /dev/null http://\(s.name).\(scope.namespace).svc:\(s.port)\($0)" }
        }
        let settings = catalog.environments.smokeTest
        var container = Container(name: "smoke-test", image: settings.image)
        container.command = ["sh", "-c", checks.isEmpty ? "true" : "set -e; " + checks.joined(separator: "; ")]
        container.resources = ResourceRequirements(limits: ["cpu": Quantity("100m")!, "memory": Quantity("64Mi")!],
                                                   requests: ["cpu": Quantity("10m")!, "memory": Quantity("16Mi")!])
        container.securityContext = SecurityContext(capabilitiesDrop: ["ALL"], runAsUser: 100, runAsNonRoot: true,
                                                    readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, seccompProfile: .runtimeDefault)
        var pod = PodSpec(containers: [container])
        pod.restartPolicy = "Never"
        pod.automountServiceAccountToken = false
        return Job(
            metadata: scope.meta("smoke-test", component: "smoke-test", annotations: [
                "argocd.argoproj.io/hook": "PostSync",
                "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation",
            ]),
            activeDeadlineSeconds: settings.timeoutSeconds,
            backoffLimit: 1,
            template: PodTemplateSpec(labels: scope.labels(component: "smoke-test"), spec: pod)
        )
    }

    /// FNV-1a over sorted key/value pairs: a deterministic fingerprint that rolls pods when
    /// their configuration changes.
    static func stableHash(_ values: [String: String]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for (k, v) in values.sorted(by: { $0.key < $1.key }) {
            for byte in k.utf8 + [0] + v.utf8 + [0] {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01B3
            }
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
