//! Runs a consumers lab natively: hands each delivery to an in-process node over any handler,
//! starts nodes (again, after a crash, over the durable state of the one before) and arms their
//! crashes, as the page does with workers.
#![allow(dead_code)]

use es_sandbox::consumers::{
    ConsumerNode, Handler, Happening, Lab, LabSettings, NodeConfig, Scripted,
};
use es_sandbox::event::StoredEvent;

/// A run's node: its config, the node, and whether it runs.
pub struct Node<H> {
    pub config: NodeConfig,
    pub node: Option<ConsumerNode<H>>,
    pub running: bool,
}

/// A lab and its nodes.
pub struct Run<H> {
    pub lab: Lab,
    pub nodes: Vec<Node<H>>,
    /// (consumer, position, attempt) of each delivery handed to a node, in order.
    pub delivered: Vec<(usize, u64, u32)>,
}

/// How the nodes of a run follow the log.
pub fn config(settings: &LabSettings) -> NodeConfig {
    NodeConfig {
        kind: settings.kind,
        commit: settings.commit,
        inbox: settings.inbox,
        on_failure: settings.on_failure,
    }
}

impl<H: Handler> Run<H> {
    /// A run over the whole log, each node over the handler `handler` makes for it.
    pub fn new(
        settings: LabSettings,
        log: Vec<StoredEvent>,
        handler: impl FnMut(usize) -> H,
    ) -> Self {
        Self::scripted(settings, log, Vec::new(), handler)
    }

    /// The same, doing what `script` says when it says (an earlier run's, to reproduce it).
    pub fn scripted(
        settings: LabSettings,
        log: Vec<StoredEvent>,
        script: Vec<Scripted>,
        mut handler: impl FnMut(usize) -> H,
    ) -> Self {
        let head = log.len() as u64;
        let config = config(&settings);
        let nodes = (0..settings.consumers as usize)
            .map(|consumer| Node {
                config,
                node: Some(ConsumerNode::new(config, handler(consumer))),
                running: false,
            })
            .collect();
        let lab = Lab::new(settings, log, head, script).unwrap_or_else(|e| panic!("{e}"));
        Run {
            lab,
            nodes,
            delivered: Vec::new(),
        }
    }

    /// The handler of a consumer's node.
    pub fn handler(&self, consumer: usize) -> &H {
        match &self.nodes[consumer].node {
            Some(node) => node.handler(),
            None => panic!("consumer {consumer} has no node"),
        }
    }

    /// Replaces a consumer's handler (a fixed projection).
    pub fn replace_handler(&mut self, consumer: usize, handler: H) {
        let node = &mut self.nodes[consumer];
        node.node = Some(ConsumerNode::new(node.config, handler));
    }

    fn deliver(&mut self, happening: Happening) {
        let Happening::Deliver {
            consumer,
            arrow,
            delivery,
        } = happening
        else {
            return;
        };
        let node = &mut self.nodes[consumer];
        let (true, Some(running)) = (node.running, node.node.as_mut()) else {
            self.lab.handled(consumer, arrow, None);
            return;
        };
        self.delivered
            .push((consumer, delivery.event.position, delivery.attempt));
        let handled = running.receive(&delivery);
        if handled.crashed() {
            node.running = false;
        }
        self.lab.handled(consumer, arrow, Some(handled));
    }

    /// Runs until nothing more is scheduled, or the next thing is after `max_ms`; hands out up
    /// to `batch` deliveries together.
    pub fn run(&mut self, batch: usize, max_ms: f64) {
        for _ in 0..2_000_000 {
            if self.lab.next_at().is_some_and(|at| at > max_ms) || !self.once(batch, max_ms) {
                return;
            }
        }
        panic!("the run did not settle");
    }

    /// Does `steps` things the lab says happen next (fewer if it settles first).
    pub fn steps(&mut self, steps: usize) {
        for _ in 0..steps {
            if !self.once(1, f64::INFINITY) {
                return;
            }
        }
    }

    /// Does the next thing (a batch of up to `batch` deliveries up to `until`, or one
    /// happening); false when nothing is scheduled.
    fn once(&mut self, batch: usize, until: f64) -> bool {
        let deliveries = self.lab.deliveries(batch, until);
        if !deliveries.is_empty() {
            for happening in deliveries {
                self.deliver(happening);
            }
            return true;
        }
        match self.lab.next_happening(until) {
            None => return false,
            Some(Happening::Start { consumer }) => {
                let node = &mut self.nodes[consumer];
                // A new node over the durable state of the one before.
                if let Some(before) = node.node.take() {
                    let restarted = ConsumerNode::new(node.config, before.into_handler());
                    let replies = restarted.start();
                    node.node = Some(restarted);
                    node.running = true;
                    self.lab.started(consumer, replies);
                }
            }
            Some(Happening::Arm { consumer, point }) => {
                if let Some(node) = self.nodes[consumer].node.as_mut() {
                    node.arm(point);
                }
            }
            Some(happening @ Happening::Deliver { .. }) => self.deliver(happening),
            Some(Happening::Internal) => {}
        }
        true
    }
}
