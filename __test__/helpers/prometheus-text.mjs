// A strict parser of the Prometheus text exposition format (0.0.4): every line is a
// HELP, a TYPE or a sample of a declared family; names and labels are well-formed;
// no series twice; histograms have ascending `le`, monotone buckets and +Inf = _count.
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\["\\n])*)"(,|$)/y

function parseValue(text, line) {
  if (text === '+Inf') return Infinity
  if (text === '-Inf') return -Infinity
  if (text === 'NaN') return NaN
  if (!/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad value in: ${line}`)
  return Number(text)
}

function parseLabels(text, line) {
  const labels = {}
  if (text === undefined || text === '') return labels
  LABEL.lastIndex = 0
  while (LABEL.lastIndex < text.length) {
    const at = LABEL.lastIndex
    const m = LABEL.exec(text)
    if (m === null || m.index !== at) throw new Error(`bad labels in: ${line}`)
    if (m[1] in labels) throw new Error(`label ${m[1]} twice in: ${line}`)
    labels[m[1]] = m[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\')
  }
  return labels
}

/** Returns Map<family name, { type, help, samples: [{ name, labels, value }] }>. */
export function parsePrometheusText(text, { countersWithoutTotal = [] } = {}) {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline')
  const families = new Map()
  const seen = new Set()
  let current = null
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue
    if (line.startsWith('# HELP ')) {
      const name = line.split(' ')[2]
      if (!NAME.test(name)) throw new Error(`bad name: ${line}`)
      if (families.has(name)) throw new Error(`family twice: ${name}`)
      current = { name, help: line.slice(8 + name.length), type: null, samples: [] }
      families.set(name, current)
      continue
    }
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ')
      if (current === null || current.name !== name) throw new Error(`TYPE without HELP: ${line}`)
      if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type)) throw new Error(`bad type: ${line}`)
      current.type = type
      continue
    }
    if (line.startsWith('#')) continue
    const m = SAMPLE.exec(line)
    if (m === null) throw new Error(`bad sample line: ${line}`)
    const [, name, labelText, valueText] = m
    if (current === null || current.type === null) throw new Error(`sample before TYPE: ${line}`)
    const suffixes = current.type === 'histogram' ? ['_bucket', '_sum', '_count'] : current.type === 'summary' ? ['', '_sum', '_count'] : ['']
    if (!suffixes.some((s) => name === current.name + s)) throw new Error(`sample ${name} outside its family ${current.name}`)
    const labels = parseLabels(labelText, line)
    const key = `${name}{${Object.entries(labels).sort().map(([k, v]) => `${k}=${v}`).join(',')}}`
    if (seen.has(key)) throw new Error(`series twice: ${key}`)
    seen.add(key)
    current.samples.push({ name, labels, value: parseValue(valueText, line) })
  }
  for (const f of families.values()) {
    if (f.type === null) throw new Error(`family without TYPE: ${f.name}`)
    if (f.type === 'counter' && !f.name.endsWith('_total') && !countersWithoutTotal.includes(f.name)) throw new Error(`counter without _total: ${f.name}`)
    if (f.type === 'histogram') checkHistogram(f)
  }
  return families
}

function checkHistogram(f) {
  const series = new Map()
  for (const s of f.samples) {
    const { le, ...rest } = s.labels
    const key = JSON.stringify(Object.entries(rest).sort())
    if (!series.has(key)) series.set(key, { buckets: [], count: null })
    const entry = series.get(key)
    if (s.name.endsWith('_bucket')) entry.buckets.push([le === '+Inf' ? Infinity : Number(le), s.value])
    if (s.name.endsWith('_count')) entry.count = s.value
  }
  for (const [key, { buckets, count }] of series) {
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i][0] > buckets[i - 1][0])) throw new Error(`${f.name} ${key}: le not ascending`)
      if (buckets[i][1] < buckets[i - 1][1]) throw new Error(`${f.name} ${key}: buckets not cumulative`)
    }
    if (buckets.at(-1)?.[0] !== Infinity) throw new Error(`${f.name} ${key}: no +Inf bucket`)
    if (buckets.at(-1)[1] !== count) throw new Error(`${f.name} ${key}: +Inf ${buckets.at(-1)[1]} != count ${count}`)
  }
}

/** The value of the sample `name` whose labels include `labels`; undefined when absent. */
export function sampleValue(families, name, labels) {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === String(v))) return s.value
    }
  }
  return undefined
}
