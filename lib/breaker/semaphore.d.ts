/** opossum's non-blocking semaphore: `count` is the number of free permits. */
declare function semaphore(count: number): {
  take(timeout?: number): Promise<() => void>
  release(): void
  test(): boolean
  readonly count: number
}
export = semaphore
