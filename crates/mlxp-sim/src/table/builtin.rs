//! Column definitions of the built-in kinds, and dispatch to their printers. Names, types and
//! priorities are those of kube-apiserver's `pkg/printers/internalversion/printers.go`.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Printer, cluster, pod, workloads};

/// (name, type, priority, description); `Name`/`Age` get the `ObjectMeta` docs from the caller.
type Column = (&'static str, &'static str, i64, &'static str);

#[rustfmt::skip]
pub(super) fn columns(printer: &Printer) -> &'static [Column] {
    const NAME: Column = ("Name", "string", 0, "");
    const AGE: Column = ("Age", "string", 0, "");
    const CONTAINERS: Column = ("Containers", "string", 1, "Names of each container in the template.");
    const IMAGES: Column = ("Images", "string", 1, "Images referenced by each container in the template.");
    const SELECTOR: Column = ("Selector", "string", 1, "A label query over pods.");

    match printer {
        Printer::Pod => &[
            NAME,
            ("Ready", "string", 0, "The aggregate readiness state of this pod for accepting traffic."),
            ("Status", "string", 0, "The aggregate status of the containers in this pod."),
            ("Restarts", "string", 0, "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
            AGE,
            ("IP", "string", 1, "IP address allocated to the pod. Routable at least within the cluster."),
            ("Node", "string", 1, "NodeName indicates in which node this pod is scheduled."),
            ("Nominated Node", "string", 1, "nominatedNodeName is set when this pod preempts other pods on the node."),
            ("Readiness Gates", "string", 1, "All readiness gates will be evaluated for pod readiness."),
        ],
        Printer::Node => &[
            NAME,
            ("Status", "string", 0, "The status of the node"),
            ("Roles", "string", 0, "The roles of the node"),
            AGE,
            ("Version", "string", 0, "Kubelet Version reported by the node."),
            ("Internal-IP", "string", 1, "List of addresses reachable to the node."),
            ("External-IP", "string", 1, "List of addresses reachable to the node."),
            ("OS-Image", "string", 1, "OS Image reported by the node from /etc/os-release."),
            ("Kernel-Version", "string", 1, "Kernel Version reported by the node from 'uname -r'."),
            ("Container-Runtime", "string", 1, "ContainerRuntime Version reported by the node through runtime remote API."),
        ],
        Printer::Job => &[
            NAME,
            ("Status", "string", 0, "Status of the job."),
            ("Completions", "string", 0, "The number of pods which reached phase Succeeded."),
            ("Duration", "string", 0, "Time required to complete the job."),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ],
        Printer::CronJob => &[
            NAME,
            ("Schedule", "string", 0, "The schedule in Cron format."),
            ("Timezone", "string", 0, "The time zone name for the given schedule."),
            ("Suspend", "boolean", 0, "This flag tells the controller to suspend subsequent executions."),
            ("Active", "integer", 0, "A list of pointers to currently running jobs."),
            ("Last Schedule", "string", 0, "Information when was the last time the job was successfully scheduled."),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ],
        Printer::Deployment => &[
            NAME,
            ("Ready", "string", 0, "Number of the pod with ready state"),
            ("Up-to-date", "string", 0, "Total number of non-terminated pods that have the desired template spec."),
            ("Available", "string", 0, "Total number of available pods targeted by this deployment."),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ],
        Printer::ReplicaSet => &[
            NAME,
            ("Desired", "integer", 0, "Number of desired pods. This is a pointer to distinguish between explicit zero and not specified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller"),
            ("Current", "integer", 0, "Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller"),
            ("Ready", "integer", 0, "The number of ready replicas for this replica set."),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ],
        Printer::Event => &[
            ("Last Seen", "string", 0, "The time at which the most recent occurrence of this event was recorded."),
            ("Type", "string", 0, "Type of this event (Normal, Warning), new types could be added in the future"),
            ("Reason", "string", 0, "A short, machine understandable reason for the transition into the object's current status."),
            ("Object", "string", 0, "The object that this event is about."),
            ("Subobject", "string", 1, "The piece of the object this event is about, as a field path."),
            ("Source", "string", 1, "The component reporting this event."),
            ("Message", "string", 0, "A human-readable description of the status of this operation."),
            ("First Seen", "string", 1, "The time at which the event was first recorded."),
            ("Count", "string", 1, "The number of times this event has occurred."),
            ("Name", "string", 1, ""),
        ],
        Printer::Namespace => &[NAME, ("Status", "string", 0, "The status of the namespace"), AGE],
        Printer::Service => &[
            NAME,
            ("Type", "string", 0, "type determines how the Service is exposed."),
            ("Cluster-IP", "string", 0, "clusterIP is the IP address of the service."),
            ("External-IP", "string", 0, "The IP addresses for which nodes in the cluster will also accept traffic for this service."),
            ("Port(s)", "string", 0, "The list of ports that are exposed by this service."),
            AGE,
            ("Selector", "string", 1, "Route service traffic to pods with labels matching this selector."),
        ],
        Printer::Hpa => &[
            NAME,
            ("Reference", "string", 0, "The target resource to scale."),
            ("Targets", "string", 0, "The metrics used to calculate the desired replica count."),
            ("MinPods", "string", 0, "The lower limit for the number of replicas."),
            ("MaxPods", "string", 0, "The upper limit for the number of replicas."),
            ("Replicas", "string", 0, "Current number of replicas of pods managed by this autoscaler."),
            AGE,
        ],
        Printer::Custom(_) | Printer::Default => &[],
    }
}

pub(super) fn cells(printer: &Printer, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    match printer {
        Printer::Pod => pod::pod(obj, now),
        Printer::Node => cluster::node(obj, now),
        Printer::Job => workloads::job(obj, now),
        Printer::CronJob => workloads::cron_job(obj, now),
        Printer::Deployment => workloads::deployment(obj, now),
        Printer::ReplicaSet => workloads::replica_set(obj, now),
        Printer::Event => cluster::event(obj, now),
        Printer::Namespace => cluster::namespace(obj, now),
        Printer::Service => cluster::service(obj, now),
        Printer::Hpa => workloads::hpa(obj, now),
        Printer::Custom(_) | Printer::Default => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::super::table;
    use super::super::test_support::{cells, header, now};
    use super::*;
    use serde_json::json;

    #[rustfmt::skip]
    #[test]
    fn column_names_and_priorities_match_kube_apiserver() {
        let cases = [
            (Printer::Pod, "Name | Ready | Status | Restarts | Age | IP* | Node* | Nominated Node* | Readiness Gates*"),
            (Printer::Node, "Name | Status | Roles | Age | Version | Internal-IP* | External-IP* | OS-Image* | Kernel-Version* | Container-Runtime*"),
            (Printer::Job, "Name | Status | Completions | Duration | Age | Containers* | Images* | Selector*"),
            (Printer::CronJob, "Name | Schedule | Timezone | Suspend | Active | Last Schedule | Age | Containers* | Images* | Selector*"),
            (Printer::Deployment, "Name | Ready | Up-to-date | Available | Age | Containers* | Images* | Selector*"),
            (Printer::ReplicaSet, "Name | Desired | Current | Ready | Age | Containers* | Images* | Selector*"),
            (Printer::Event, "Last Seen | Type | Reason | Object | Subobject* | Source* | Message | First Seen* | Count* | Name*"),
            (Printer::Namespace, "Name | Status | Age"),
            (Printer::Service, "Name | Type | Cluster-IP | External-IP | Port(s) | Age | Selector*"),
            (Printer::Hpa, "Name | Reference | Targets | MinPods | MaxPods | Replicas | Age"),
        ];
        for (printer, want) in cases {
            assert_eq!(header(&printer), want);
            let t = table(&printer, &[], json!({}), now());
            for def in t["columnDefinitions"].as_array().unwrap() {
                let format = if def["name"] == "Name" { "name" } else { "" };
                assert_eq!(def["format"], format);
                assert!(!def["description"].as_str().unwrap().is_empty());
            }
        }
        let t = table(&Printer::CronJob, &[], json!({}), now());
        assert_eq!(t["columnDefinitions"][3]["type"], "boolean");
        assert_eq!(t["columnDefinitions"][4]["type"], "integer");
    }

    #[rustfmt::skip]
    #[test]
    fn objects_missing_every_field() {
        let cases = [
            (Printer::Pod, " | 0/0 |  | 0 | <unknown> | <none> | <none> | <none> | <none>"),
            (Printer::Node, " | Unknown | <none> | <unknown> |  | <none> | <none> | <unknown> | <unknown> | <unknown>"),
            (Printer::Job, " | Running | 0/1 |  | <unknown> |  |  | <none>"),
            (Printer::CronJob, " |  | <none> | False | 0 | <none> | <unknown> |  |  | <none>"),
            (Printer::Deployment, " | 0/1 | 0 | 0 | <unknown> |  |  | "),
            (Printer::ReplicaSet, " | 1 | 0 | 0 | <unknown> |  |  | "),
            (Printer::Event, "<unknown> |  |  |  |  |  |  | <unknown> | 1 | "),
            (Printer::Namespace, " | Active | <unknown>"),
            (Printer::Service, " | ClusterIP | <none> | <none> | <none> | <unknown> | <none>"),
            (Printer::Hpa, " | / | <none> | <unset> | 0 | 0 | <unknown>"),
        ];
        // Wrong types everywhere render the same as missing fields.
        let wrong = json!({"metadata": [], "spec": 1, "status": "x", "involvedObject": 2, "series": 3});
        for (printer, want) in cases {
            assert_eq!(cells(&printer, json!({})), want, "{printer:?}");
            assert_eq!(cells(&printer, wrong.clone()), want, "{printer:?}");
        }
    }
}
