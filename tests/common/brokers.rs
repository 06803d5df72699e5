//! Where the integration tests find their brokers, decided once per test process:
//!
//! 1. **The brokers `scripts/` started** (`scripts/test.sh` runs `scripts/brokers.sh
//!    up` and exports `KAFKA_BROKERS`, `NATS_URL`, `SCHEMA_REGISTRY_URL` and the secured
//!    listeners' addresses): used whenever `KAFKA_BROKERS` or `NATS_URL` is set. This is
//!    the path on machines without a Docker engine, and the only one for the tests that
//!    kill and restart the broker (they drive it with `scripts/kafka.sh`) or need the
//!    secured listeners (`scripts/kafka.sh` starts them with its own CA and SCRAM users).
//! 2. **testcontainers**, when neither is set and a Docker engine answers
//!    (`DOCKER_HOST`, or `/var/run/docker.sock`): Apache Kafka (KRaft, the same 4.1
//!    line as the scripts), nats-server with JetStream and Apicurio Registry in
//!    containers, started at the first use and kept for the life of the test process.
//! 3. Neither: the scripts' default addresses, so a missing broker fails the test
//!    with the instructions its own check prints.
//!
//! Each process logs on stderr which of them it uses.

use std::sync::OnceLock;

/// The brokers of this test process.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub kafka: String,
    pub nats: String,
    pub registry: Option<String>,
    /// `scripts`, `testcontainers` or `defaults`.
    pub source: &'static str,
}

pub fn endpoints() -> &'static Endpoints {
    static ENDPOINTS: OnceLock<Endpoints> = OnceLock::new();
    ENDPOINTS.get_or_init(|| {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let e = if env("KAFKA_BROKERS").is_some() || env("NATS_URL").is_some() {
            Endpoints {
                kafka: env("KAFKA_BROKERS").unwrap_or_else(|| "127.0.0.1:9092".into()),
                nats: env("NATS_URL").unwrap_or_else(|| "nats://127.0.0.1:4222".into()),
                registry: env("SCHEMA_REGISTRY_URL"),
                source: "scripts",
            }
        } else if docker_available() {
            containers::start()
        } else {
            Endpoints {
                kafka: "127.0.0.1:9092".into(),
                nats: "nats://127.0.0.1:4222".into(),
                registry: env("SCHEMA_REGISTRY_URL"),
                source: "defaults",
            }
        };
        eprintln!(
            "test brokers from {}: kafka {}, nats {}, schema registry {}",
            e.source,
            e.kafka,
            e.nats,
            e.registry.as_deref().unwrap_or("-")
        );
        e
    })
}

/// The Kafka bootstrap servers.
pub fn kafka() -> String {
    endpoints().kafka.clone()
}

/// The NATS URL.
pub fn nats() -> String {
    endpoints().nats.clone()
}

/// The schema registry's Confluent-compatible base URL, if one runs.
pub fn registry() -> Option<String> {
    endpoints().registry.clone()
}

fn docker_available() -> bool {
    std::env::var_os("DOCKER_HOST").is_some()
        || std::path::Path::new("/var/run/docker.sock").exists()
}

mod containers {
    use std::sync::Mutex;

    use testcontainers::core::{ContainerPort, IntoContainerPort, WaitFor};
    use testcontainers::runners::SyncRunner;
    use testcontainers::{Container, GenericImage, ImageExt};

    use super::Endpoints;

    /// The running containers: kept (never dropped) until the process exits.
    static RUNNING: Mutex<Vec<Container<GenericImage>>> = Mutex::new(Vec::new());

    /// A free loopback port (Kafka must advertise the address clients reach, so its
    /// host port is chosen before the container starts).
    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port")
    }

    fn keep(c: Container<GenericImage>) {
        RUNNING.lock().unwrap_or_else(|p| p.into_inner()).push(c);
    }

    pub fn start() -> Endpoints {
        let port = free_port();
        let kafka = GenericImage::new("apache/kafka", "4.1.1")
            .with_wait_for(WaitFor::message_on_stdout("Kafka Server started"))
            .with_mapped_port(port, ContainerPort::Tcp(9092))
            .with_env_var("KAFKA_NODE_ID", "1")
            .with_env_var("KAFKA_PROCESS_ROLES", "broker,controller")
            .with_env_var("KAFKA_LISTENERS", "PLAINTEXT://:9092,CONTROLLER://:9093")
            .with_env_var(
                "KAFKA_ADVERTISED_LISTENERS",
                format!("PLAINTEXT://127.0.0.1:{port}"),
            )
            .with_env_var("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER")
            .with_env_var(
                "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
                "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            )
            .with_env_var("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@localhost:9093")
            .with_env_var("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1")
            .with_env_var("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
            .with_env_var("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
            .with_env_var("KAFKA_NUM_PARTITIONS", "3")
            // As in `scripts/kafka.sh`: retention by size only, since the captures'
            // 2024 event times are the records' Kafka timestamps.
            .with_env_var("KAFKA_LOG_RETENTION_MS", "-1")
            .with_env_var("KAFKA_LOG_RETENTION_BYTES", "1073741824")
            .start()
            .expect("starting the Kafka container");
        keep(kafka);

        let nats = GenericImage::new("nats", "2.11")
            .with_exposed_port(4222.tcp())
            .with_wait_for(WaitFor::message_on_stderr("Server is ready"))
            .with_cmd(["-js"])
            .start()
            .expect("starting the NATS container");
        let nats_port = nats.get_host_port_ipv4(4222.tcp()).expect("the NATS port");
        keep(nats);

        let registry = GenericImage::new("apicurio/apicurio-registry", "3.0.9")
            .with_exposed_port(8080.tcp())
            .with_wait_for(WaitFor::message_on_stdout("started in"))
            .start()
            .expect("starting the Apicurio Registry container");
        let registry_port = registry
            .get_host_port_ipv4(8080.tcp())
            .expect("the registry port");
        keep(registry);

        Endpoints {
            kafka: format!("127.0.0.1:{port}"),
            nats: format!("nats://127.0.0.1:{nats_port}"),
            registry: Some(format!("http://127.0.0.1:{registry_port}/apis/ccompat/v7")),
            source: "testcontainers",
        }
    }
}
