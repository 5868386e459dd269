import { Controller, Get, Headers, Inject, Query, Res } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { toCsv, wantsCsv } from '@cairn/runtime';
import { RequireScope } from '../../auth/auth.guard';
import { badParam, parseCursor, parseLimit } from '../../http-params';
import { ListCustomersQuery, type CustomerFilters, type CustomerPage } from './list-customers.query';
import { ApiAnswer } from '../../openapi/openapi';
import { ReadAnswer } from '../../read-your-writes';

const STAGES = ['new', 'active', 'at_risk', 'lapsed'] as const;
const CSV_COLUMNS = ['customerId', 'orders', 'grossMinor', 'refundedMinor', 'netMinor', 'aovMinor', 'currency', 'firstSeenAt', 'lastSeenAt'] as const;
const CSV_PAGE = 500;

function count(field: string, value: unknown): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !/^\d{1,13}$/.test(value)) throw badParam(field, 'must be a whole number from 0 to 10^13');
  return Number(value);
}

export function parseCustomerFilters(q: Record<string, unknown>): CustomerFilters {
  const prefix = q.idPrefix;
  if (prefix !== undefined && prefix !== '' && (typeof prefix !== 'string' || !/^[A-Za-z0-9_.:@+-]{1,128}$/.test(prefix))) throw badParam('idPrefix', 'must be 1–128 of [A-Za-z0-9_.:@+-]');
  const stage = q.stage;
  if (stage !== undefined && stage !== '' && !(STAGES as readonly unknown[]).includes(stage)) throw badParam('stage', `must be one of ${STAGES.join(', ')}`);
  return {
    idPrefix: prefix ? (prefix as string) : undefined,
    minOrders: count('minOrders', q.minOrders),
    minNetMinor: count('minNetMinor', q.minNetMinor),
    stage: stage ? (stage as CustomerFilters['stage']) : undefined,
  };
}

@ApiTags('customers')
@ApiBearerAuth()
@Controller('v1/customers')
export class ListCustomersHttpController {
  constructor(@Inject(QueryBus) private readonly queries: QueryBus) {}

  @Get()
  @RequireScope('read')
  @ApiOperation({ summary: 'Customers by id (keyset pages), with simple filters; Accept: text/csv exports every match' })
  @ApiProduces('application/json', 'text/csv')
  @ApiQuery({ name: 'cursor', required: false })
  @ApiQuery({ name: 'limit', required: false, description: '1–500, default 50 (JSON only)' })
  @ApiQuery({ name: 'idPrefix', required: false, description: 'customer ids starting with this' })
  @ApiQuery({ name: 'minOrders', required: false, description: 'at least this many orders' })
  @ApiQuery({ name: 'minNetMinor', required: false, description: 'net revenue at least this (minor units)' })
  @ApiQuery({ name: 'stage', required: false, enum: STAGES, description: 'lifecycle stage as of now' })
  @ApiAnswer(200, 'CustomerPage', { csv: true, description: 'A page of profiles (JSON), or every match as CSV (Accept: text/csv)' })
  @ReadAnswer()
  async list(@Query() q: Record<string, unknown>, @Headers('accept') accept: string | undefined, @Res({ passthrough: true }) res: Response): Promise<CustomerPage | undefined> {
    const filters = parseCustomerFilters(q);
    if (!wantsCsv(accept)) return this.queries.execute(new ListCustomersQuery(parseCursor(q.cursor), parseLimit(q.limit, 500, 50), filters));
    let page = await this.queries.execute(new ListCustomersQuery(undefined, CSV_PAGE, filters));
    res.status(200);
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', 'attachment; filename="customers.csv"');
    res.write(toCsv(CSV_COLUMNS, []));
    for (;;) {
      res.write(toCsv([], page.items.map((p) => CSV_COLUMNS.map((c) => p[c])), { noHeader: true }));
      if (page.nextCursor === null) break;
      page = await this.queries.execute(new ListCustomersQuery(page.nextCursor, CSV_PAGE, filters));
    }
    res.end();
    return undefined;
  }
}
