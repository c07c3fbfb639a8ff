import { DynamoReviewStore } from '@stagehooks/core/dynamodb';
import { StoreError } from '@stagehooks/core/errors';
import { createTestTable } from '@test/dynamodb';
import { openReview } from '@test/reviews';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let table: Awaited<ReturnType<typeof createTestTable>>;
let reviews: DynamoReviewStore;

const review = (id: string, errorMessage: string) => openReview({ id, errorMessage });

beforeAll(async () => {
  table = await createTestTable();
  reviews = new DynamoReviewStore(table.doc, { tableName: table.tableName });
});
afterAll(() => table.drop());

describe('DynamoReviewStore.create', () => {
  it('keeps the review a retried FlagForReview creates again, as it was first written', async () => {
    // Prepare
    await reviews.create(review('review.again', 'first'));

    // Act
    await reviews.create(review('review.again', 'second'));

    // Assess
    expect(await reviews.get('review.again')).toMatchObject({ status: 'open', errorMessage: 'first' });
  });

  it('does not take a failed write for a review that exists already', async () => {
    const nowhere = new DynamoReviewStore(table.doc, { tableName: `${table.tableName}-missing` });
    await expect(nowhere.create(review('review.nowhere', 'lost'))).rejects.toThrow(StoreError);
  });
});
