'use strict'
// Driven by broker/clienttest/group_kafkajs_test.go:
//
//   node js/consume.js BROKER TOPIC GROUP COUNT
//
// With kafkajs: a consumer group member reads TOPIC from the beginning
// until it has COUNT messages (committing as it goes), then the admin client
// lists and describes the group and fetches its offsets, and the consumer
// disconnects (leaving the group). Prints one JSON object with what it saw;
// any error exits non-zero with the error on stderr.

const { Kafka, logLevel } = require('kafkajs')

async function main () {
  const [broker, topic, groupId, countArg] = process.argv.slice(2)
  if (!broker || !topic || !groupId || !countArg) {
    throw new Error('usage: node consume.js BROKER TOPIC GROUP COUNT')
  }
  const count = parseInt(countArg, 10)
  const kafka = new Kafka({
    clientId: 'ordo-clienttest-consumer',
    brokers: [broker],
    logLevel: logLevel.WARN,
    connectionTimeout: 5000,
    requestTimeout: 15000,
    retry: { retries: 5, initialRetryTime: 100 }
  })
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: 6000,
    rebalanceTimeout: 5000,
    heartbeatInterval: 200,
    maxWaitTimeInMs: 250
  })
  const admin = kafka.admin()
  await consumer.connect()
  await admin.connect()
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    const seen = []
    let done, fail
    const all = new Promise((resolve, reject) => { done = resolve; fail = reject })
    // A crashed consumer never calls eachMessage again: fail at once.
    consumer.on(consumer.events.CRASH, e => fail(e.payload.error))
    const timer = setTimeout(() => fail(new Error(`timed out with ${seen.length} of ${count} messages`)), 60000)
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        seen.push({ partition, offset: message.offset, value: message.value.toString() })
        if (seen.length >= count) done()
      }
    })
    await all
    clearTimeout(timer)
    // Offsets are committed after each batch; make sure the last one is.
    await consumer.commitOffsets(
      Object.entries(lastOffsets(seen)).map(([p, o]) => ({ topic, partition: Number(p), offset: String(o + 1) })))
    const listed = await admin.listGroups()
    const described = await admin.describeGroups([groupId])
    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] })
    process.stdout.write(JSON.stringify({ seen, listed, described, offsets }) + '\n')
  } finally {
    await consumer.disconnect()
    await admin.disconnect()
  }
}

function lastOffsets (seen) {
  const last = {}
  for (const m of seen) {
    const o = Number(m.offset)
    if (!(m.partition in last) || o > last[m.partition]) last[m.partition] = o
  }
  return last
}

main().catch(err => {
  process.stderr.write((err && err.stack) || String(err))
  process.stderr.write('\n')
  process.exit(1)
})
