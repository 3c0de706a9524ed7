FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts
COPY gen ./gen
COPY src ./src
COPY console/dist ./console/dist
COPY tsconfig.json ./
ENV PORT=8080 HOST=0.0.0.0
EXPOSE 8080
CMD ["node", "--import", "tsx", "src/cli/main.ts", "serve"]
