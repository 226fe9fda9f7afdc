// Plays a consumers lab on simulated time: a clock that moves with the page's frames at a
// chosen speed while playing and stands still while paused. Each frame the runner catches up
// with the clock within a budget (the page stays responsive however much happens), and the
// clock never runs ahead of what the lab has done. Events: "tick" (the clock moved or something
// happened), "state" (played, paused or stopped).

/** Work the runner may do in one frame, in ms of the page's time. */
const FRAME_BUDGET_MS = 8;

export class LabPlayer extends EventTarget {
  /** The LabRunner it plays. */
  runner;
  /** Simulated ms shown: the diagram's now. */
  clock = 0;
  /** Simulated ms per ms of the page's time. */
  speed = 1;
  playing = false;
  #frame;
  #last;
  /** The frame's catch-up while one runs. */
  #busy;

  constructor(runner) {
    super();
    this.runner = runner;
  }

  /** Plays from the clock on. */
  play() {
    if (this.playing) return;
    this.playing = true;
    this.#last = performance.now();
    this.#frame = requestAnimationFrame((t) => this.#tick(t));
    this.dispatchEvent(new CustomEvent("state"));
  }

  /** Stops the clock where it is. */
  pause() {
    if (!this.playing) return;
    this.playing = false;
    cancelAnimationFrame(this.#frame);
    this.dispatchEvent(new CustomEvent("state"));
  }

  /** Pauses, then lets one message move (a delivery handled, or a message arrive or be lost). */
  async step() {
    this.pause();
    await this.runner.step();
    this.clock = Math.max(this.clock, this.runner.lab.now());
    this.dispatchEvent(new CustomEvent("tick"));
  }

  /**
   * Pauses with everything up to the clock done, and nothing after it: what a shared link
   * replays to. Resolves to the clock.
   */
  async hold() {
    this.pause();
    await this.#busy;
    // A frame's catch-up may have gone past the clock before it stopped (its budget ran out).
    this.clock = Math.max(this.clock, this.runner.lab.now());
    await this.runner.advance(this.clock, { budgetMs: Infinity });
    this.dispatchEvent(new CustomEvent("tick"));
    return this.clock;
  }

  /** Runs as fast as it can (unpaced) up to simulated time `untilMs`: a shared run reproduced. */
  async runTo(untilMs) {
    this.pause();
    while (!(await this.runner.advance(untilMs, { budgetMs: 40 }))) {
      this.clock = this.runner.lab.now();
      this.dispatchEvent(new CustomEvent("tick"));
      // Lets the page draw and answer between slices.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    this.clock = untilMs;
    this.dispatchEvent(new CustomEvent("tick"));
  }

  /** Stops for good (the run is over). */
  stop() {
    this.pause();
    this.runner.close();
  }

  async #tick(now) {
    if (!this.playing) return;
    // A frame after a long pause (a tab in the background) moves the clock one frame's worth.
    const elapsed = Math.min(now - this.#last, 100);
    this.#last = now;
    if (!this.#busy) {
      this.#busy = this.#catchUp(elapsed).finally(() => {
        this.#busy = undefined;
      });
      await this.#busy;
    }
    if (this.playing) this.#frame = requestAnimationFrame((t) => this.#tick(t));
  }

  /** One frame's work: the lab caught up with the clock moved on by `elapsed`, within budget. */
  async #catchUp(elapsed) {
    // Once nothing is left to happen the clock stands at the last thing that did, until
    // something new is scheduled (an append, an action): the diagram keeps the run in view.
    const runTo = this.clock + elapsed * this.speed;
    const target = this.runner.settled ? Math.max(this.clock, Math.min(runTo, this.runner.lab.now())) : runTo;
    try {
      const reached = await this.runner.advance(target, { budgetMs: FRAME_BUDGET_MS });
      this.clock = reached ? target : Math.max(this.clock, this.runner.lab.now());
    } catch (error) {
      this.pause();
      this.dispatchEvent(new CustomEvent("failed", { detail: error }));
    }
    this.dispatchEvent(new CustomEvent("tick"));
  }
}
