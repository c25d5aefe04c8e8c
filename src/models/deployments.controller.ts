import { actorOf } from '../platform/audit-trail/admin-event-outbox';
import { Audited } from '../platform/audit-trail/audited.decorator';
import { Body, Controller, Delete, Get, HttpCode, Param, Put, Req } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { AuthenticatedRequest } from '../platform/auth';
import { Roles } from '../platform/auth';
import { DeploymentViewDto, ServingViewDto, SetDeploymentDto, SetServingDto } from './deployments.dto';
import type { DeploymentView, ServingView } from './deployments.service';
import { ModelsPort } from './models.port';

/** A model's deployment (canary routes, shadow) and serving settings: reads for any role, writes for `developer` (and admin). */
@ApiTags('deployments')
@Controller('api/models/:name')
export class DeploymentsController {
  constructor(private readonly deployments: ModelsPort) {}

  @Get('deployment')
  @ApiOperation({
    summary: "The model's deployment: routes (alias routes with the version their alias points at now) and shadow; 404 when none",
  })
  @ApiResponse({ status: 200, type: DeploymentViewDto })
  async getDeployment(@Param('name') name: string): Promise<DeploymentView> {
    return this.deployments.getDeployment(name);
  }

  @Put('deployment')
  @Audited('deployment.changed')
  @Roles('developer')
  @ApiOperation({
    summary: 'Set the deployment: weighted routes to versions or aliases, and an optional shadow version',
    description:
      'Replaces the whole deployment atomically. Weights are relative. ' +
      'Each route names exactly one of `version` (must be active) or `alias` ' +
      '(must exist; the route follows it when it moves). A version a deployment uses cannot be archived (409).',
  })
  @ApiResponse({ status: 200, type: DeploymentViewDto })
  @ApiResponse({ status: 409, description: 'A route or the shadow names a version that is not active' })
  async setDeployment(
    @Param('name') name: string,
    @Body() body: SetDeploymentDto,
    @Req() req: AuthenticatedRequest,
  ): Promise<DeploymentView> {
    return this.deployments.setDeployment(name, body, req.principal?.name ?? null, actorOf(req));
  }

  @Delete('deployment')
  @Audited('deployment.deleted')
  @Roles('developer')
  @HttpCode(200)
  @ApiOperation({ summary: 'Remove the deployment (traffic goes to the production alias again); answers with what was removed' })
  @ApiResponse({ status: 200, type: DeploymentViewDto })
  async deleteDeployment(@Param('name') name: string, @Req() req: AuthenticatedRequest): Promise<DeploymentView> {
    return this.deployments.deleteDeployment(name, actorOf(req));
  }

  @Get('serving')
  @ApiOperation({ summary: 'Effective serving settings (dynamic batching); the defaults until set' })
  @ApiResponse({ status: 200, type: ServingViewDto })
  async getServing(@Param('name') name: string): Promise<ServingView> {
    return this.deployments.getServing(name);
  }

  @Put('serving')
  @Audited('serving-settings.changed')
  @Roles('developer')
  @ApiOperation({ summary: 'Change serving settings; fields left out keep their current value' })
  @ApiResponse({ status: 200, type: ServingViewDto })
  async setServing(@Param('name') name: string, @Body() body: SetServingDto, @Req() req: AuthenticatedRequest): Promise<ServingView> {
    return this.deployments.setServing(name, body, req.principal?.name ?? null, actorOf(req));
  }
}
